"""Which container and subtype an output gets, which subtypes clip, and what each container can hold."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ..errors import UsageError
from ..limits import MAX_CHANNELS  # libsndfile's SF_MAX_CHANNELS, when writing and when reading back

__all__ = [
    "CSV",
    "format_from_name",
    "output_format",
    "output_subtype",
    "clips_at_full_scale",
    "MAX_AUDIO_RATE",
    "FLOAT32_MAX",
    "FormatLimits",
    "format_limits",
    "check_format_limits",
    "largest_finite_sample",
]

#: Largest sample rate of an audio file: libsndfile keeps the rate in a C int.
MAX_AUDIO_RATE = 2**31 - 1

#: Largest finite float32 value: beyond it a FLOAT sample becomes infinite.
FLOAT32_MAX = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max, without importing numpy

CSV = "CSV"

_EXTENSIONS = {
    ".wav": "WAV",
    ".wave": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".oga": "OGG",
    ".aif": "AIFF",
    ".aiff": "AIFF",
    ".aifc": "AIFF",
    ".csv": CSV,
}

# Subtypes whose samples are stored as floats (or coded without a hard
# integer ceiling); everything else is integer PCM-like and clips at 1.0.
_FLOAT_SUBTYPES = {"FLOAT", "DOUBLE", "VORBIS", "OPUS"}

# Where the input's subtype cannot go into the output container, the best
# lossless-enough choice for a float result.
# Codecs that a file of another container cannot take, though libsndfile's
# check_format says WAV can (MP3 in WAV fails when written): an input coded
# with one of them gets the container's preferred subtype instead. A decoded
# lossy signal is float and may exceed full scale, so FLOAT (WAV, AIFF) keeps
# it exactly; PCM_16 would clip and add rounding noise.
_CODEC_CONTAINERS = {"VORBIS": {"OGG"}, "OPUS": {"OGG"}, "MPEG_LAYER_I": {"MP3"}, "MPEG_LAYER_II": {"MP3"},
                     "MPEG_LAYER_III": {"MP3"}}
_PREFERRED_SUBTYPE = {"WAV": "FLOAT", "AIFF": "FLOAT", "FLAC": "PCM_24", "OGG": "VORBIS", CSV: None}


# Containers libsndfile writes that an output of sigconv cannot be, and why.
_UNWRITABLE = {
    "SD2": "Sound Designer II keeps its header in a resource fork, which libsndfile writes as a separate "
           "._ file beside it, so it cannot be replaced atomically; write AIFF or WAV",
}


def _soundfile():
    import soundfile

    return soundfile


def format_from_name(name: str) -> str | None:
    """Container implied by a file name's extension, or None if unknown.

    Examples
    --------
    >>> format_from_name("take1.FLAC")
    'FLAC'
    """
    ext = os.path.splitext(os.fspath(name))[1].lower()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    if ext and ext[1:].upper() in _soundfile().available_formats():
        return ext[1:].upper()
    return None


def output_format(destination: str, requested: str | None = None) -> str:
    """Container to write: ``requested`` if given, else from the extension.

    Standard output (``"-"``) defaults to WAV.

    Raises
    ------
    UsageError
        If the format is unknown, or cannot be told from the name.
    """
    if requested:
        fmt = requested.upper()
        if fmt != CSV and fmt not in _soundfile().available_formats():
            known = ", ".join(sorted({*_EXTENSIONS.values(), *_soundfile().available_formats()} - set(_UNWRITABLE)))
            raise UsageError(f"unknown output format {requested!r}; choose one of: {known}")
    elif destination == "-":
        fmt = "WAV"
    else:
        fmt = format_from_name(destination)
        if fmt is None:
            raise UsageError(
                f"cannot tell the output format from {destination!r}; use an extension "
                "such as .wav, .flac, .ogg, .aiff or .csv, or give --format"
            )
    if fmt in _UNWRITABLE:
        raise UsageError(f"sigconv does not write {fmt}: {_UNWRITABLE[fmt]}")
    return fmt


def output_subtype(fmt: str, requested: str | None = None, source: str | None = None) -> str | None:
    """Subtype to write in container ``fmt``.

    The explicitly ``requested`` subtype wins; otherwise the ``source``
    subtype is kept where ``fmt`` supports it; otherwise a float (or the
    container's highest-resolution) subtype. A lossy codec (MP3, Vorbis,
    Opus) is kept only in its own container: MP3 in, WAV out gives FLOAT,
    which holds the decoded samples exactly (overshoots beyond full scale
    included); FLAC out gives PCM_24.

    Examples
    --------
    >>> output_subtype("WAV", source="MPEG_LAYER_III"), output_subtype("FLAC", source="VORBIS")
    ('FLOAT', 'PCM_24')

    Raises
    ------
    UsageError
        If ``requested`` is not a subtype ``fmt`` can hold.
    """
    if fmt == CSV:
        return None
    sf = _soundfile()
    if requested:
        sub = requested.upper()
        if not sf.check_format(fmt, sub):
            valid = ", ".join(sorted(sf.available_subtypes(fmt)))
            raise UsageError(f"{fmt} files cannot hold subtype {requested!r}; choose one of: {valid}")
        return sub
    if source and source.upper() in _CODEC_CONTAINERS and fmt not in _CODEC_CONTAINERS[source.upper()]:
        source = None
    if source and sf.check_format(fmt, source):
        return source
    preferred = _PREFERRED_SUBTYPE.get(fmt)
    if preferred and sf.check_format(fmt, preferred):
        return preferred
    return sf.default_subtype(fmt)


def clips_at_full_scale(subtype: str | None) -> bool:
    """True where the subtype stores integers, so samples beyond ±1.0 clip."""
    return subtype is not None and subtype.upper() not in _FLOAT_SUBTYPES


@dataclass(frozen=True)
class FormatLimits:
    """What sample rates and channel counts a container (and subtype) can hold.

    Attributes
    ----------
    max_rate : int
        Highest sample rate in Hz.
    max_channels : int
        Most channels.
    rates : tuple of int, optional
        The only rates the encoder accepts, where it has a fixed list.
    max_byte_rate : int, optional
        Largest rate x channels x bytes per sample the header can store.
    why : str
        What sets the limits, for the error message.
    """

    max_rate: int = MAX_AUDIO_RATE
    max_channels: int = MAX_CHANNELS
    rates: tuple[int, ...] | None = None
    max_byte_rate: int | None = None
    why: str = "libsndfile"


# Measured with libsndfile 1.2.2: above 200000 Hz or 255 channels libvorbis
# crashes the process (SIGSEGV) instead of reporting an error, so these
# must be refused before libsndfile is called. The others give the limit
# in the terms the encoder would refuse anyway, but early and plainly.
_WAV = FormatLimits(max_byte_rate=2**32 - 1, why="WAV as libsndfile reads it")
_LIMITS = {
    ("WAV", None): _WAV,
    ("WAVEX", None): _WAV,
    ("RF64", None): _WAV,
    ("W64", None): _WAV,
    ("FLAC", None): FormatLimits(max_rate=655350, max_channels=8, why="FLAC"),
    ("OGG", "VORBIS"): FormatLimits(max_rate=200000, max_channels=255, why="libvorbis"),
    ("OGG", "OPUS"): FormatLimits(max_rate=48000, max_channels=255, rates=(8000, 12000, 16000, 24000, 48000),
                                  why="libopus"),
    ("MP3", None): FormatLimits(max_rate=48000, max_channels=2,
                                rates=(8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
                                why="MPEG audio"),
}
_DEFAULT_LIMITS = FormatLimits()
_WAV_LIKE = {fmt for (fmt, _), limits in _LIMITS.items() if limits is _WAV}


def format_limits(fmt: str, subtype: str | None = None) -> FormatLimits | None:
    """The rate and channel limits of container ``fmt`` with ``subtype`` (None for CSV, which has none).

    Examples
    --------
    >>> format_limits("OGG", "VORBIS").max_rate, format_limits("FLAC", "PCM_24").max_channels
    (200000, 8)
    """
    if fmt == CSV:
        return None
    subtype = subtype.upper() if subtype else None
    return _LIMITS.get((fmt, subtype)) or _LIMITS.get((fmt, None)) or _DEFAULT_LIMITS


# Bytes per sample in a WAV header's byte rate; compressed subtypes take at most 1.
_SAMPLE_BYTES = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


def check_format_limits(fmt: str, subtype: str | None, rate: float, channels: int) -> None:
    """Refuse a rate or channel count that container ``fmt`` cannot hold, before anything is written.

    Raises
    ------
    UsageError
        The message names the limit and suggests a container that holds
        the signal.

    Examples
    --------
    >>> check_format_limits("OGG", "VORBIS", 384000, 1)
    Traceback (most recent call last):
    ...
    sigconv.errors.UsageError: OGG/VORBIS cannot hold a sample rate of 384000 Hz (libvorbis: 1 to 200000 Hz); write WAV or CSV instead, or resample
    """
    limits = format_limits(fmt, subtype)
    if limits is None:
        return
    name = f"{fmt}/{subtype}" if subtype else fmt
    hz = round(rate) if math.isfinite(rate) else 0
    if limits.rates is not None and hz not in limits.rates:
        accepted = ", ".join(map(str, limits.rates))
        raise UsageError(f"{name} cannot hold a sample rate of {rate:g} Hz ({limits.why}: only {accepted} "
                         "Hz); resample, or write WAV or FLAC instead")
    if not 1 <= hz <= limits.max_rate:
        raise UsageError(f"{name} cannot hold a sample rate of {rate:g} Hz ({limits.why}: 1 to "
                         f"{limits.max_rate} Hz); {_remedy(fmt)}")
    if channels > limits.max_channels:
        raise UsageError(f"{name} cannot hold {channels} channels ({limits.why}: at most "
                         f"{limits.max_channels}); {_remedy(fmt, channels=True)}")
    sample_bytes = _SAMPLE_BYTES.get(subtype or "", 1)
    if limits.max_byte_rate is not None and hz * channels * sample_bytes > limits.max_byte_rate:
        raise UsageError(f"{name} cannot hold {channels} channel(s) at {rate:g} Hz: the header's byte "
                         f"rate (rate x channels x {sample_bytes} bytes) must fit in 32 bits; write CSV, a "
                         "smaller subtype, fewer channels or a lower rate")


def _remedy(fmt: str, channels: bool = False) -> str:
    if channels:
        return "write fewer channels, or CSV" if fmt in _WAV_LIKE else "write WAV or CSV, or fewer channels"
    return "write CSV, or resample" if fmt in _WAV_LIKE else "write WAV or CSV instead, or resample"


def largest_finite_sample(subtype: str | None) -> float:
    """The largest magnitude a sample may have to be written as ``subtype`` without becoming infinite.

    float32 subtypes (``FLOAT``, and the float input of the Vorbis and Opus
    encoders) overflow above :data:`FLOAT32_MAX`; everything else takes
    any finite float64 (integer subtypes clip at full scale).
    """
    return FLOAT32_MAX if subtype and subtype.upper() in _FLOAT32_SUBTYPES else float("inf")


_FLOAT32_SUBTYPES = {"FLOAT", "VORBIS", "OPUS"}
