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
