"""``sigconv batch``'s per-pair options make what ``sigconv convolve`` makes of the same pair, byte for byte.

Both commands run from the command line on one clip and one IR (PCM_16 in,
PCM_16 out, as datasets are); batch at ``--precision 64``, convolve's
default. Options the prepared IR applies (levels, pre-delay, trimming,
normalizations) and those a batch hands to ConvolveJob (``--mode keep``,
``--align``, ``--ceiling``, ``--loudness``) are both covered.
"""

from __future__ import annotations

import pytest
import soundfile as sf

from sigconv.batch.execution import is_prepared_path
from sigconv.batch.pairing import Range, draw
from sigconv.convolution.files import ConvolveSettings
from sigconv.errors import UsageError

from .material import coloured, room

OPTIONS = {
    "levels in dB, predelay with a unit": ["--wet", "-6dB", "--dry", "0.5", "--predelay", "20ms", "--gain", "-3dB"],
    "trim at the onset (default --trim-db)": ["--trim-ir", "--dry", "-6dB"],
    "trim at -40 dB, predelay in samples": ["--trim-ir", "--trim-db", "-40dB", "--predelay", "16smp"],
    "rms-match, predelay in seconds": ["--normalize", "rms-match", "--predelay", "0.01s", "--dry", "0.2"],
    "keep, aligned to the dry input": ["--mode", "keep", "--align", "dry", "--dry", "1", "--wet", "-12dB"],
    "no alignment": ["--align", "none", "--dry", "0.3"],
    "true-peak ceiling": ["--gain", "12", "--ceiling", "-1dBTP"],
    "loudness": ["--loudness", "-20LUFS", "--ceiling", "-0.1dBFS"],
}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    import numpy as np

    rng = np.random.default_rng(17)
    folder = tmp_path_factory.mktemp("pair")
    sf.write(folder / "x.wav", coloured(rng, 8000), 8000, subtype="PCM_16")
    sf.write(folder / "h.wav", room(rng, 900, onset=40), 8000, subtype="FLOAT")
    return folder


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_batch_makes_the_file_convolve_makes(pair, tmp_path, cli, options):
    batch = cli("batch", pair / "x.wav", "--ir", pair / "h.wav", "-o", tmp_path / "out", "-j", "1", "-q",
                "--precision", "64", *options)
    assert batch.exit_code == 0, batch.stderr
    single = cli("convolve", pair / "x.wav", pair / "h.wav", "-o", tmp_path / "single.wav", "-q", *options)
    assert single.exit_code == 0, single.stderr
    made = (tmp_path / "out" / "x__h.wav").read_bytes()
    assert made == (tmp_path / "single.wav").read_bytes()


def test_which_options_take_the_prepared_path():
    assert is_prepared_path(ConvolveSettings(normalize="rms-match", trim_db=-20, predelay_ms="20ms"))
    for settings in (ConvolveSettings(mode="keep"), ConvolveSettings(align="dry"), ConvolveSettings(align="none"),
                     ConvolveSettings(ceiling="-1dBTP"), ConvolveSettings(normalize="lufs")):
        assert not is_prepared_path(settings), settings


def test_level_ranges_in_db_are_drawn_in_db(tmp_path):
    r = Range.parse("-12dB:-3dB", "--wet")
    draws = [draw(r, 3, "wet", f"clip{i}.wav", "h.wav") for i in range(400)]
    import numpy as np

    db = 20 * np.log10(draws)
    assert db.min() >= -12 and db.max() < -3
    # uniform in dB: as many draws below the middle (-7.5 dB) as above, unlike uniform in the factor
    assert abs(np.mean(db < -7.5) - 0.5) < 0.07  # uniform in the factor: 0.37
    assert Range.parse("-6dB").fixed and draw(Range.parse("-6dB"), 0, "wet", "a", "b") == 10 ** (-6 / 20)
    with pytest.raises(UsageError, match="mixes a factor and dB"):
        Range.parse("0.5:-3dB")
