"""``sigconv impulse``: sweep, measure, synth and info."""

from __future__ import annotations

import functools
import json
import math
import re

import click

from ..errors import UsageError
from ..limits import MAX_CHANNELS
from ..progress import task_progress
from .common import raw_input_options, report_clipping, report_notes
from .options import (FINITE, FiniteFloat, TimeType, _stack, common_options, compute_options, io_options,
                      resolve_output)


def _numbers(text: str | None, option: str) -> list[float] | None:
    """``"1.2,0.9"`` as finite floats, or a UsageError naming the option."""
    if text is None:
        return None
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"{option} takes numbers separated by commas, not {text!r}") from None
    if not all(math.isfinite(number) for number in numbers):
        raise UsageError(f"{option} takes finite numbers, not {text!r}")
    return numbers


def _level_db(text: str) -> float:
    """``-6dB``/``-6 dBFS`` as dB, or a plain linear factor such as ``0.5`` converted to dB."""
    match = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*(dbfs|db)?\s*", text, flags=re.I)
    if not match:
        raise UsageError(f"--amplitude takes a level such as -6dB or a linear factor such as 0.5, not {text!r}")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise UsageError(f"--amplitude must be a finite level, not {text!r}")
    if match.group(2):
        return value
    if not 0 < value <= 1:
        raise UsageError(f"a linear --amplitude must lie in (0, 1], not {value:g}; write dB levels as -6dB")
    return 20 * math.log10(value)


def _say(message: str, to_stderr: bool) -> None:
    click.echo(message, err=to_stderr)


def output_options(fn):
    """``-o``, ``--format`` and ``--subtype`` of the commands that generate a signal."""

    @_stack(
        click.option("-o", "--output", metavar="FILE",
                     help="Output file, or - for standard output (the default when stdout is not a terminal)."),
        click.option("-f", "--format", "output_format", metavar="FMT",
                     help="Output format: wav, flac, aiff, csv... (default: from the extension; wav for -)."),
        click.option("--subtype", metavar="SUBTYPE",
                     help="Output sample type: FLOAT (default for WAV), DOUBLE, PCM_24, PCM_16..."),
        click.option("--rate", type=FiniteFloat(min=0, min_open=True), default=48000.0, show_default=True,
                     metavar="HZ", help="Sample rate."),
    )
    @functools.wraps(fn)
    def wrapper(*args, output, output_format, subtype, **kwargs):
        kwargs["target"] = (resolve_output(output), output_format, subtype)
        return fn(*args, **kwargs)

    return wrapper


@click.group(name="impulse")
def impulse_group():
    """Measure, synthesize and analyse impulse responses.

    \b
    The measurement workflow (exponential sine sweep, Farina's method):
      sigconv impulse sweep -o sweep.wav --inverse inverse.wav
      (play sweep.wav through the system and record it as recording.wav)
      sigconv impulse measure recording.wav sweep.wav -o ir.wav --harmonics distortion/
      sigconv impulse info ir.wav --plot ir.png
    """


@impulse_group.command(name="sweep")
@output_options
@click.option("--duration", type=TimeType("s", into="s"), default=10.0, show_default=True, metavar="SECONDS",
              help="Length of the sweep (without the silence): 10, 10s or 500ms; longer sweeps give more signal-to-noise "
              "ratio.")
@click.option("--f0", type=FINITE, default=20.0, show_default=True, metavar="HZ", help="Start frequency.")
@click.option("--f1", type=FINITE, default=20000.0, show_default=True, metavar="HZ",
              help="Stop frequency, at most the Nyquist frequency (rate / 2).")
@click.option("--amplitude", default="-6dB", show_default=True, metavar="LEVEL",
              help="Peak level: dB (-6dB) or a linear factor (0.5).")
@click.option("--fade", default="0.1,0.02", show_default=True, metavar="IN[,OUT]",
              help="Seconds of half-Hann fade-in and fade-out (one value: both).")
@click.option("--silence", type=TimeType("s", into="s"), default=2.0, show_default=True, metavar="SECONDS",
              help="Trailing silence, to record the system's decay: make it longer than its reverberation.")
@click.option("--inverse", metavar="FILE", help="Also write the inverse filter (time-reversed, 6 dB/octave envelope).")
@common_options
def sweep_command(target, rate, duration, f0, f1, amplitude, fade, silence, inverse, quiet):
    """Write an exponential sine sweep with fades and trailing silence.

    The frequency rises by the same number of octaves per second, so
    harmonic distortion separates from the linear response when the
    recording is measured (sigconv impulse measure). Play it at a level the
    system handles without strain, and record its silence too.

    \b
    Examples:
      sigconv impulse sweep -o sweep.wav
      sigconv impulse sweep -o sweep.wav --rate 96000 --duration 20 --f1 40000 --silence 4
      sigconv impulse sweep -o sweep.wav --amplitude -12dB --fade 0.5,0.05 --inverse inverse.wav
    """
    from ..impulse.files import write_sweep

    output, fmt, subtype = target
    fades = _numbers(fade, "--fade")
    if len(fades) not in (1, 2):
        raise UsageError(f"--fade takes one or two values (IN[,OUT] seconds), not {fade!r}")
    report, inverse_report = write_sweep(
        output, rate=rate, duration=duration, f0=f0, f1=f1, amplitude_db=_level_db(amplitude),
        fade=(fades[0], fades[-1]), silence=silence, inverse=inverse, format=fmt, subtype=subtype,
    )
    report_clipping(report)
    if not quiet:
        _say(f"{output}: {duration:g} s sweep {f0:g}-{f1:g} Hz at {_level_db(amplitude):.1f} dBFS, then {silence:g} s of "
             f"silence ({report.frames} frames at {rate:g} Hz)", output == "-")
        if inverse_report is not None:
            _say(f"{inverse}: its inverse filter ({inverse_report.frames} frames)", output == "-")


@impulse_group.command(name="measure")
@click.argument("recording", metavar="RECORDING")
@click.argument("sweep", metavar="SWEEP")
@io_options
@raw_input_options
@click.option("--length", type=TimeType("s", into="s", min=0, min_open=True), default=None, metavar="SECONDS",
              help="Longest IR to keep (default: all the recording holds after the sweep).")
@click.option("--keep-predelay", type=TimeType("s", into="s", min=0), default=0.002, show_default=True, metavar="SECONDS",
              help="Time kept before the direct sound when the start is trimmed.")
@click.option("--trim-start/--no-trim-start", default=True, show_default=True,
              help="Start the IR just before the direct sound (else: when the sweep started playing).")
@click.option("--trim-end/--no-trim-end", default=True, show_default=True,
              help="End the IR where its decay meets the noise floor (Lundeby's method).")
@click.option("--harmonics", "harmonics_dir", metavar="DIR",
              help="Write the harmonic-distortion responses into DIR as harmonic-2.wav, harmonic-3.wav...")
@click.option("--max-order", type=click.IntRange(min=1), default=5, show_default=True, metavar="K",
              help="Highest harmonic order separated.")
@compute_options
@common_options
def measure_command(recording, sweep, io, length, keep_predelay, trim_start, trim_end, harmonics_dir, max_order,
                    backend, context, quiet):
    """Recover the impulse response from a RECORDING of SWEEP played through a system.

    The recording is deconvolved by the sweep's inverse. Harmonic
    distortion, which the method puts before the linear response, is cut
    away (--harmonics keeps it). Each recorded channel gives one channel of
    the IR. SWEEP is the file that was played, with its silence, at the
    recording's sample rate; RECORDING may be - for standard input.

    \b
    Examples:
      sigconv impulse measure recording.wav sweep.wav -o ir.wav
      sigconv impulse measure cab.wav sweep.wav -o cab-ir.wav --keep-predelay 0 --length 0.5
      sigconv impulse measure hall.flac sweep.wav -o hall-ir.wav --harmonics distortion/ --no-trim-end
    """
    from ..impulse.files import measure_ir_file

    output = resolve_output(io.output)
    with task_progress("measuring", quiet) as update:
        result, report = measure_ir_file(
            recording, sweep, output, harmonics_dir=harmonics_dir, length=length, trim_start=trim_start,
            keep_predelay=keep_predelay, trim_end=trim_end, max_order=max_order, format=io.format,
            subtype=io.subtype, input_format=io.input_format, rate=io.rate, backend=backend, context=context, progress=update,
        )
    report_notes(result.notes, quiet)
    report_clipping(report)
    if quiet:
        return
    frames, channels = result.ir.shape
    line = (f"{output}: {channels} channel{'s' if channels > 1 else ''}, {frames / result.rate:.3f} s at "
            f"{result.rate:g} Hz, starting {1000 * result.start_s:.1f} ms after the sweep began")
    if result.noise_floor_db is not None and math.isfinite(result.noise_floor_db):
        line += f"; noise floor {result.noise_floor_db:.1f} dBFS ({result.noise_floor_db - result.peak_dbfs:.1f} dB re peak)"
    _say(line, output == "-")
    if harmonics_dir is not None and result.harmonics:
        orders = sorted(result.harmonics)
        _say(f"{harmonics_dir}: harmonic responses of orders {orders[0]} to {orders[-1]}", output == "-")


@impulse_group.command(name="synth")
@click.argument("kind", metavar="KIND")
@output_options
@click.option("--channels", type=click.IntRange(1, MAX_CHANNELS), default=1, show_default=True,
              help="Channels (reverb: decorrelated; others: the same kernel in each).")
@click.option("--seconds", type=TimeType("s", into="s", min=0), default=None, metavar="SECONDS",
              help="delay: the delay, 0.0125 or 12.5ms (fractions of a sample too).")
@click.option("--rt60", metavar="SECONDS[,...]",
              help="reverb: reverberation time, or 7 comma-separated values for the octave bands 125 Hz to 8 kHz.")
@click.option("--predelay", type=TimeType("ms", into="s", min=0, bare_min=1), default=None, metavar="MS",
              help="reverb: silence before the tail: 20ms, 0.02s; a bare number is milliseconds, as in convolve.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="reverb: seed of the noise, for a repeatable result.")
@click.option("--length", type=TimeType("s", into="s", min=0, min_open=True), default=None, metavar="SECONDS",
              help="dirac, reverb: length (reverb default: 1.5 x the longest RT60).")
@click.option("--cutoff", metavar="HZ[,HZ]", help="lowpass, highpass: cut-off; bandpass, bandstop: LOW,HIGH.")
@click.option("--taps", type=click.IntRange(min=1), default=None,
              help="Filters: length (default 255; odd for highpass/bandstop); moving-average: its length.")
@click.option("--window", default=None, metavar="NAME", help="Filters: design window (default hamming).")
@click.option("--sigma", type=TimeType("s", into="s", min=0, min_open=True), default=None, metavar="SECONDS",
              help="gaussian: standard deviation.")
@common_options
def synth_command(kind, target, rate, channels, seconds, rt60, predelay, seed, length, cutoff, taps, window, sigma,
                  quiet):
    """Write a synthetic impulse response of the given KIND.

    \b
    KIND is one of:
      dirac                   a unit impulse (--length pads it with zeros)
      delay --seconds S       a delay; fractional delays as a windowed-sinc kernel
      reverb --rt60 T         decaying noise with that RT60 [--predelay] [--channels] [--seed] [--length]
      lowpass, highpass --cutoff HZ, bandpass, bandstop --cutoff LOW,HIGH   [--taps N] [--window]
      moving-average --taps N
      gaussian --sigma SECONDS
    \b
    Examples:
      sigconv impulse synth reverb --rt60 1.8 --predelay 20ms --channels 2 --seed 1 -o hall.wav
      sigconv impulse synth reverb --rt60 2.2,2.0,1.8,1.6,1.4,1.1,0.8 --seed 7 -o church.wav
      sigconv impulse synth delay --seconds 0.0125 --rate 44100 -o delay.wav
      sigconv impulse synth lowpass --cutoff 5 --taps 31 --rate 100 -o smooth.csv
    """
    from ..impulse.files import synthesize_ir_file
    from ..impulse.synth import FILTER_KINDS, SYNTH_KINDS

    if kind not in SYNTH_KINDS:
        raise UsageError(f"unknown KIND {kind!r}; choose one of {', '.join(SYNTH_KINDS)}")
    given = {"--seconds": seconds, "--rt60": rt60, "--predelay": predelay, "--seed": seed, "--length": length,
             "--cutoff": cutoff, "--taps": taps, "--window": window, "--sigma": sigma}
    allowed = {"dirac": {"--length"}, "delay": {"--seconds"}, "reverb": {"--rt60", "--predelay", "--seed", "--length"},
               "moving-average": {"--taps"}, "gaussian": {"--sigma"},
               **{k: {"--cutoff", "--taps", "--window"} for k in FILTER_KINDS}}[kind]
    extra = [name for name, value in given.items() if value is not None and name not in allowed]
    if extra:
        raise UsageError(f"{', '.join(extra)} {'does' if len(extra) == 1 else 'do'} not apply to {kind}; "
                         f"it takes {', '.join(sorted(allowed))}")
    rt = _numbers(rt60, "--rt60")
    output, fmt, subtype = target
    report = synthesize_ir_file(
        kind, output, rate=rate, format=fmt, subtype=subtype, channels=channels, seconds=seconds,
        rt60=rt[0] if rt and len(rt) == 1 else rt, predelay=predelay or 0.0, seed=seed, length=length,
        cutoff=_numbers(cutoff, "--cutoff"), taps=taps, window=window or "hamming", sigma=sigma,
    )
    report_clipping(report)
    if not quiet:
        _say(f"{output}: {kind}, {report.channels} channel{'s' if report.channels > 1 else ''}, {report.frames} frames "
             f"at {rate:g} Hz", output == "-")


def _fit_range(text: str | None, option: str):
    """``"-5:-25"`` as (start, end) dB, or a UsageError naming the option."""
    if text is None:
        return None
    parts = text.split(":")
    try:
        numbers = tuple(float(part) for part in parts)
    except ValueError:
        numbers = ()
    if len(numbers) != 2 or not all(math.isfinite(n) for n in numbers):
        raise UsageError(f"{option} takes START:END in dB such as -5:-25, not {text!r}")
    return numbers


def _band_list(text: str):
    """``octave``, ``third`` or comma-separated nominal centres."""
    if text in ("octave", "third"):
        return text
    return tuple(_numbers(text, "--bands"))


@impulse_group.command(name="info")
@click.argument("ir_path", metavar="IR")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--plot", metavar="FILE.png|FILE.svg",
              help="Also draw ETC, energy decay per band with its fits, magnitude, decay times, C/D and STI into a "
              "PNG or SVG, by extension (needs matplotlib: pip install 'sigconv[plot]').")
@click.option("--bands", "bands", default="octave", show_default=True, metavar="octave|third|HZ,...",
              help="Octave bands (63 Hz-16 kHz), third-octave bands (31.5 Hz-16 kHz), or nominal centres; bands "
              "reaching Nyquist are left out.")
@click.option("--filter", "filter_mode", type=click.Choice(["zero-phase", "reversed"]), default="zero-phase",
              show_default=True, help="Band filters run forwards and backwards, or once in reversed time "
              "(ISO 3382-1's advice for short decays).")
@click.option("--broadband", type=click.Choice(["span", "A", "C", "Z"]), default="span", show_default=True,
              help="Broadband: limited to the analysed bands' span, A- or C-weighted, or unweighted (Z).")
@click.option("--highpass", type=FiniteFloat(min=0, min_open=True), default=None, metavar="HZ",
              help="High-pass everything at HZ first (rumble, sub-sonic content).")
@click.option("--edt-range", metavar="START:END", help="EDT evaluation range in dB [default: 0:-10].")
@click.option("--t20-range", metavar="START:END", help="T20 evaluation range in dB [default: -5:-25].")
@click.option("--t30-range", metavar="START:END", help="T30 evaluation range in dB [default: -5:-35].")
@click.option("--onset-threshold", type=FiniteFloat(max=0, max_open=True), default=-20.0, show_default=True,
              metavar="DB", help="The onset is the first sample within DB of the peak (ISO 3382-1: -20).")
@click.option("--strict", is_flag=True,
              help="Null every value that misses an ISO 3382 condition instead of flagging it with *.")
@click.option("--noise-levels", metavar="DB,...",
              help="STI: background noise octave levels 125 Hz-8 kHz in dB SPL (with --speech-levels).")
@click.option("--speech-levels", metavar="DB,...",
              help="STI: speech octave levels 125 Hz-8 kHz in dB SPL at the listener (with --noise-levels).")
@click.option("--snr", "snr", metavar="DB,...", help="STI: signal-to-noise ratio per octave 125 Hz-8 kHz (7 values).")
@click.option("--noise-file", metavar="FILE",
              help="STI: a recording of the background noise at the listener, made with the measurement's "
              "microphone and gain; its octave levels plus --calibration are the noise levels (with --speech-levels).")
@click.option("--calibration", "calibration", type=FiniteFloat(), metavar="DB",
              help="dB SPL of full scale (RMS 1.0) for --noise-file: 94 minus the dBFS RMS reading of a 94 dB "
              "calibrator recorded at the same gain.")
@click.option("--force", is_flag=True, help="Analyse a file that does not look like an impulse response.")
@click.option("--input-format", metavar="FMT", help="Format of IR when neither name nor content tells it (e.g. csv).")
@raw_input_options
@click.option("--rate", type=FiniteFloat(min=0, min_open=True), metavar="HZ",
              help="Sample rate of a CSV IR that has no time column.")
@common_options
def info_command(ir_path, as_json, plot, bands, filter_mode, broadband, highpass, edt_range, t20_range, t30_range,
                 onset_threshold, strict, noise_levels, speech_levels, snr, noise_file, calibration, force, input_format,
                 rate, quiet):
    """Analyse an impulse response: levels, noise, ISO 3382-1 parameters per band, STI.

    Per channel: length, peak, onset (direct sound), noise floor (dBFS and
    re peak), impulse-to-noise ratio, direct-to-reverberant ratio, and per
    band and broadband: EDT, T20, T30, Topt (s), C50, C80 (dB), D50, Ts (s);
    then the STI (IEC 60268-16:2020, indirect method, male weights). The
    energy decay is Schroeder's backward integral, truncated at the noise
    floor and compensated (Lundeby). Topt is the decay time over the
    straightest range of 20 dB or more, starting between -5 and -25 dB,
    that the measured decay offers; its range is printed. A value that
    misses an ISO 3382 condition (noise margin, non-linearity, curvature)
    is marked * and explained; one that cannot be measured shows as - (null
    in JSON) with the reason. A file that does not look like an impulse
    response (speech, music) is refused (exit 3) unless --force.

    \b
    Examples:
      sigconv impulse info ir.wav
      sigconv impulse info ir.wav --bands third --json > ir.json
      sigconv impulse info ir.wav --highpass 40 --t30-range -5:-35 --strict
      sigconv impulse info ir.wav --plot ir.png
      sigconv impulse info ir.wav --speech-levels 60,62,59,53,47,41,35 --noise-levels 45,42,38,35,30,25,20
      sigconv impulse info ir.wav --speech-levels 63,63,59,53,47,41,35 --noise-file room-noise.wav --calibration 120
    """
    from ..impulse.files import impulse_info_file

    ranges = {name: value for name, value in (("EDT", _fit_range(edt_range, "--edt-range")),
                                              ("T20", _fit_range(t20_range, "--t20-range")),
                                              ("T30", _fit_range(t30_range, "--t30-range"))) if value is not None}
    options = dict(bands=_band_list(bands), filter_mode=filter_mode, broadband=broadband, highpass=highpass,
                   ranges=ranges, onset_threshold_db=onset_threshold, strict=strict, force=force,
                   snr_db=_numbers(snr, "--snr"), speech_levels=_numbers(speech_levels, "--speech-levels"),
                   noise_levels=_numbers(noise_levels, "--noise-levels"))
    info = impulse_info_file(ir_path, plot=plot, input_format=input_format, rate=rate, noise_file=noise_file,
                             calibration_db=calibration, **options)
    if as_json:
        click.echo(json.dumps(info.as_dict(), indent=2))
    else:
        click.echo(info.as_text())
    if plot is not None and not quiet:
        click.echo(f"{plot}: ETC, energy decay per band with fits, magnitude, decay times, C/D and STI", err=True)
