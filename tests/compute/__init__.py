"""Tests of sigconv.compute."""
