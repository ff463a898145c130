"""Tests of sigconv.convolution."""
