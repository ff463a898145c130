"""Tests of sigconv.cli."""
