"""The compute layer every operation runs on: array operations and FFT plans chosen by the backend
(:mod:`.ops`), streaming convolution engines (:mod:`.engine`), output-length modes (:mod:`.modes`), channel
routing (:mod:`.routing`), forward-only frame windows over block streams (:mod:`.frames`), resampling
(:mod:`.resampling`), the IR onset (:mod:`.onsets`), the regularised spectral inverse
(:mod:`.inverses`) and the execution context that says how many threads a job may use
(:mod:`.context`)."""
