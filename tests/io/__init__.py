"""Tests of sigconv.io."""
