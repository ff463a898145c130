"""The exception hierarchy of sigconv and the exit code each class maps to.

Every error that sigconv raises on purpose is a :class:`SigconvError`. Each
subclass also inherits the builtin exception that matches it (as
python-soundfile does), so library callers may catch either
``sigconv.InvalidSignalError`` or plain ``ValueError``.

The command-line interface translates these into ``Error: <message>`` on
stderr and the class's :attr:`~SigconvError.exit_code`; nothing else in the
package prints or exits.
"""

from __future__ import annotations

__all__ = [
    "SigconvError",
    "UsageError",
    "InputError",
    "SignalNotFoundError",
    "UnreadableSignalError",
    "InvalidSignalError",
    "IncompatibleSignalsError",
    "BackendUnavailableError",
    "OutputError",
    "NoReliableDelayError",
    "NoCorrelationPeakError",
    "InexactDivisionError",
    "MissingDependencyError",
    "missing_dependency",
    "EXIT_CODES",
    "ClippingWarning",
    "SpectralNullWarning",
]


class SigconvError(Exception):
    """Base class of every error sigconv raises on purpose.

    Attributes
    ----------
    exit_code : int
        Process exit status the command-line interface uses for this error.
    """

    exit_code = 1


class UsageError(SigconvError, ValueError):
    """An option or argument is wrong or conflicts with another (exit 2)."""

    exit_code = 2


class InputError(SigconvError):
    """An input cannot be used: missing, unreadable or malformed (exit 3)."""

    exit_code = 3


class SignalNotFoundError(InputError, FileNotFoundError):
    """An input file does not exist (exit 3)."""


class UnreadableSignalError(InputError, OSError):
    """An input exists but is not a signal sigconv can decode (exit 3)."""


class InvalidSignalError(InputError, ValueError):
    """A signal was decoded but its samples are unusable: empty, NaN/Inf, wrong shape (exit 3)."""


class IncompatibleSignalsError(SigconvError, ValueError):
    """Two signals cannot be combined: sample rates or channel counts differ (exit 4)."""

    exit_code = 4


class BackendUnavailableError(SigconvError, RuntimeError):
    """The requested compute backend is unknown or cannot run here (exit 5)."""

    exit_code = 5


class OutputError(SigconvError, OSError):
    """The output cannot be written, or writing it would destroy an input (exit 6)."""

    exit_code = 6


class NoReliableDelayError(SigconvError, RuntimeError):
    """A correlation peak was found but its confidence is below the required minimum (exit 7).

    Raised instead of reporting a delay that is no better than a random lag
    (``sigconv correlate --min-confidence``).
    """

    exit_code = 7


class NoCorrelationPeakError(SigconvError, ValueError):
    """A signal to correlate is silent or constant, so there is no correlation peak (exit 8)."""

    exit_code = 8


class InexactDivisionError(SigconvError, ValueError):
    """``deconvolve --method exact``: the signal is not an exact FIR product of the kernel (exit 9).

    Raised when the remainder of the division is above the tolerance,
    instead of returning a quotient that does not reproduce the signal.
    """

    exit_code = 9


class MissingDependencyError(SigconvError, ImportError):
    """An optional package that a feature needs is not installed (exit 10).

    The message names the package and the extra that installs it (``pip
    install 'sigconv[plot]'``); the original :class:`ImportError` is the
    ``__cause__``. Use :func:`missing_dependency` to make one.
    """

    exit_code = 10


def missing_dependency(package: str, extra: str, feature: str) -> MissingDependencyError:
    """A :class:`MissingDependencyError` for ``feature``, which needs ``package`` from the ``extra`` extra.

    Raise it ``from`` the :class:`ImportError` that revealed the absence.

    Examples
    --------
    >>> print(missing_dependency("matplotlib", "plot", "plotting"))
    plotting needs matplotlib, which is not installed: pip install 'sigconv[plot]'
    """
    return MissingDependencyError(
        f"{feature} needs {package}, which is not installed: pip install 'sigconv[{extra}]'", name=package
    )


#: Exit status for each error class, in the order README documents them.
EXIT_CODES = {
    cls.__name__: cls.exit_code
    for cls in (
        SigconvError,
        UsageError,
        InputError,
        IncompatibleSignalsError,
        BackendUnavailableError,
        OutputError,
        NoReliableDelayError,
        NoCorrelationPeakError,
        InexactDivisionError,
        MissingDependencyError,
    )
}


class ClippingWarning(UserWarning):
    """Samples beyond full scale were clipped while writing an integer format."""


class SpectralNullWarning(UserWarning):
    """A deconvolution kernel's response has deep nulls: those frequencies cannot be recovered."""
