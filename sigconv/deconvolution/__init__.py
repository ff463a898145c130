"""Deconvolution: recover x from y = x ⊗ h (+ noise) given h, on arrays (:mod:`.arrays`) and streamed files
(:mod:`.files`); inverse-filter design (:mod:`.inverse`), Welch spectra for the noise-informed Wiener filter
(:mod:`.wiener`), Richardson-Lucy (:mod:`.lucy`) and exact division (:mod:`.polydiv`)."""

from .arrays import deconvolve
from .files import DeconvolveReport, deconvolve_file

__all__ = ["DeconvolveReport", "deconvolve", "deconvolve_file"]
