"""Tests of sigconv.correlation."""
