"""Tests of sigconv.deconvolution."""
