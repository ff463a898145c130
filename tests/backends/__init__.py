"""Tests of sigconv.backends."""
