import numpy as np
import pytest

from sigconv.errors import InvalidSignalError, UsageError
from sigconv.validation import as_frames, dtype_for_precision


def test_one_dimensional_becomes_one_column():
    out = as_frames([1, 2, 3])
    assert out.shape == (3, 1) and out.dtype == np.float64
    np.testing.assert_array_equal(out[:, 0], [1.0, 2.0, 3.0])


def test_two_dimensional_keeps_frames_by_channels_and_is_contiguous():
    x = np.arange(12, dtype=np.int16).reshape(6, 2)
    out = as_frames(x[::2], dtype=np.float32)
    assert out.shape == (3, 2) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, x[::2])


@pytest.mark.parametrize(
    "bad, words",
    [
        ([], "empty"),
        (np.zeros((0, 2)), "empty"),
        (np.zeros((2, 2, 2)), "3 dimensions"),
        (np.array(3.0), "0 dimensions"),
        (np.array([1 + 1j]), "complex"),
        (np.array(["a", "b"]), "not numbers"),
        ([1.0, np.nan, 2.0], "NaN or infinite"),
        ([1.0, np.inf], "NaN or infinite"),
    ],
)
def test_bad_arrays_are_rejected_with_a_message_that_names_the_problem(bad, words):
    with pytest.raises(InvalidSignalError, match=words):
        as_frames(bad, name="impulse response")


def test_nan_message_names_the_signal_and_first_frame():
    with pytest.raises(InvalidSignalError, match=r"impulse response .*first at frame 2"):
        as_frames([0.0, 1.0, np.nan, np.nan], name="impulse response")


def test_invalid_signal_is_also_a_value_error():
    with pytest.raises(ValueError):
        as_frames([np.nan])


@pytest.mark.parametrize("bits, dtype", [(64, np.float64), ("32", np.float32)])
def test_precision_maps_to_dtype(bits, dtype):
    assert dtype_for_precision(bits) == dtype


@pytest.mark.parametrize("bits", [16, "double", None])
def test_other_precisions_are_usage_errors(bits):
    with pytest.raises(UsageError, match="64 or 32"):
        dtype_for_precision(bits)


# ---------------------------------------------------------------- library arrays: layout and dtype (issue 16)


def test_a_channels_first_array_is_refused_with_the_remedy():
    import sigconv

    with pytest.raises(InvalidSignalError) as caught:
        sigconv.convolve(np.zeros((2, 16000)), np.ones(3))
    message = str(caught.value)
    assert "(2, 16000)" in message and "x.T" in message and "(frames, channels)" in message
    with pytest.raises(InvalidSignalError, match=r"\(1, 4000\)"):
        sigconv.correlate(np.zeros((1, 4000)), np.zeros(4000))


def test_a_channels_first_array_passed_transposed_matches_scipy_on_the_transposed_array(rng):
    import sigconv
    from scipy import signal as sps

    x = rng.standard_normal((2, 3000))  # as torch, librosa and pedalboard hold stereo
    h = rng.standard_normal(50)
    y = sigconv.convolve(x.T, h)
    np.testing.assert_allclose(y, sps.convolve(x.T, h[:, None]), atol=1e-10)
    assert y.shape == (3049, 2)


def test_the_channels_first_rule_counts_channels_as_the_file_limits_do():
    from sigconv import limits, validation

    assert validation._FILE_CHANNELS == limits.MAX_CHANNELS


def test_ordinary_shapes_that_could_look_wide_are_kept():
    assert as_frames(np.zeros((9, 2000))).shape == (9, 2000)  # more frames than a channels-first guess takes
    assert as_frames(np.zeros((2, 1024))).shape == (2, 1024)  # as many channels as a file can hold


def test_a_batch_axis_is_refused_with_what_to_do_instead():
    import sigconv

    with pytest.raises(InvalidSignalError, match="3 dimensions.*no batch axis.*one signal at a time"):
        sigconv.convolve(np.zeros((4, 1000, 2)), np.ones(3))


@pytest.mark.parametrize("x_dtype, h_dtype", [(np.float32, np.float32), (np.float32, np.float64),
                                              (np.float64, np.float32), (np.float64, np.float64)])
@pytest.mark.parametrize("n", [200, 5000])  # the direct path of small mono jobs, and the planned one
def test_convolve_returns_the_dtype_scipy_returns(rng, x_dtype, h_dtype, n):
    import sigconv
    from scipy import signal as sps

    x = rng.standard_normal(n).astype(x_dtype)
    h = rng.standard_normal(700).astype(h_dtype)
    y = sigconv.convolve(x, h)
    assert y.dtype == sps.convolve(x, h).dtype
    # computed in float64 whatever the dtype: as close to the float64 oracle as float32 rounding allows
    exact = sps.convolve(x.astype(np.float64), h.astype(np.float64), method="direct")
    np.testing.assert_allclose(y, exact.astype(y.dtype), rtol=0, atol=4 * np.finfo(y.dtype).eps * np.abs(exact).max())
    assert sigconv.convolve(x, h, precision=64).dtype == np.float64
