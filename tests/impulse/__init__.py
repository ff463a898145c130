"""Tests of sigconv.impulse."""
