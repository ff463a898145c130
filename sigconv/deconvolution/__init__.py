"""Deconvolution: recover x from y = x ⊗ h (+ noise) given h, on arrays (:mod:`.arrays`) and streamed files
(:mod:`.files`) with their settings (:mod:`.settings`); inverse-filter design (:mod:`.inverse`), Welch spectra
for the noise-informed Wiener filter (:mod:`.wiener`), Richardson-Lucy (:mod:`.lucy`) and exact division
(:mod:`.polydiv`)."""

from .arrays import deconvolve
from .files import DeconvolveJob, DeconvolveReport, deconvolve_file
from .settings import DeconvolveSettings

__all__ = ["DeconvolveJob", "DeconvolveReport", "DeconvolveSettings", "deconvolve", "deconvolve_file"]
