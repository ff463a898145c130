"""``sigconv batch`` from the command line: outputs, collisions, failures, manifests, resuming."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import soundfile as sf

from sigconv.batch.pairing import Range, draw

from .material import dataset, tree_bytes


def test_every_clip_with_every_ir_then_skipped_then_forced(tmp_path, rng, cli):
    clips, irs = dataset(tmp_path, rng, clips=3, irs=2)
    out = tmp_path / "out"
    result = cli("batch", clips, "--ir", irs, "-o", out, "-j", "1", "--precision", "64")
    assert result.exit_code == 0, result.stderr
    names = sorted(os.listdir(out))
    assert names == sorted(f"clip{i}__room{j}.wav" for i in range(3) for j in range(2))
    x, _ = sf.read(clips / "clip1.wav")
    h, _ = sf.read(irs / "room0.wav")
    y, _ = sf.read(out / "clip1__room0.wav")
    assert sf.info(out / "clip1__room0.wav").subtype == "PCM_16"  # the input's subtype kept
    np.testing.assert_allclose(y, np.convolve(x, h), rtol=0, atol=1.5 / 32768)  # within PCM_16 rounding
    before = {name: (out / name).stat().st_mtime_ns for name in names}
    again = cli("batch", clips, "--ir", irs, "-o", out, "-j", "1")
    assert again.exit_code == 0 and "done 0, skipped 6, failed 0" in again.stderr
    assert before == {name: (out / name).stat().st_mtime_ns for name in names}
    forced = cli("batch", clips, "--ir", irs, "-o", out, "-j", "1", "--force", "-q")
    assert forced.exit_code == 0 and forced.stderr == ""
    assert all((out / name).stat().st_mtime_ns != before[name] for name in names)


def test_two_pairs_writing_one_file_are_refused_before_any_work(tmp_path, rng, cli):
    clips, irs = dataset(tmp_path, rng, clips=2, irs=1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "clip0.wav").write_bytes((clips / "clip0.wav").read_bytes())  # the same stem in another folder
    out = tmp_path / "out"
    result = cli("batch", clips, other, "--ir", irs, "-o", out)
    assert result.exit_code == 2
    assert "would both write" in result.stderr and "clip0__room0.wav" in result.stderr
    assert not out.exists() or not os.listdir(out)
    fixed = cli("batch", clips, other, "--ir", irs, "-o", out, "--name", "{parent}-{stem}__{ir}.{ext}", "-j", "1")
    assert fixed.exit_code == 0, fixed.stderr
    assert sorted(os.listdir(out)) == ["clips-clip0__room0.wav", "clips-clip1__room0.wav", "other-clip0__room0.wav"]


def test_a_corrupt_input_and_a_corrupt_ir_fail_alone(tmp_path, rng, cli):
    clips, irs = dataset(tmp_path, rng, clips=3, irs=2)
    (clips / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    (irs / "cracked.wav").write_bytes(b"not audio at all")
    out, manifest = tmp_path / "out", tmp_path / "manifest.csv"
    result = cli("batch", clips, "--ir", irs, "-o", out, "--manifest", manifest, "-j", "2")
    assert result.exit_code == 3, result.stderr  # unreadable signals: the exit status of an input error
    assert "done 6, skipped 0, failed 6" in result.stderr
    assert result.stderr.splitlines()[-1] == f"Error: 6 of 12 pairs failed; see {manifest}"
    rows = list(csv.DictReader(manifest.open()))
    assert len(rows) == 12
    failed = {(os.path.basename(r["input"]), os.path.basename(r["ir"])) for r in rows if r["status"] == "failed"}
    assert failed == {("broken.wav", f"room{j}.wav") for j in range(2)} | {
        (f"clip{i}.wav", "cracked.wav") for i in range(3)} | {("broken.wav", "cracked.wav")}
    assert all(r["error"] for r in rows if r["status"] == "failed")
    assert all(not r["error"] and r["status"] == "done" for r in rows if r["status"] != "failed")
    assert sorted(os.listdir(out)) == sorted(f"clip{i}__room{j}.wav" for i in range(3) for j in range(2))
    assert "broken.wav" in result.stderr and "cracked.wav" in result.stderr


def test_manifest_rebuilds_the_same_dataset(tmp_path, rng, cli):
    clips, irs = dataset(tmp_path, rng, clips=5, irs=3)
    out, manifest = tmp_path / "out", tmp_path / "manifest.jsonl"
    result = cli("batch", clips, "--ir", irs, "-o", out, "--pairs", "random", "--seed", "3", "--wet", "0.3:1.0",
                 "--dry", "0:0.5", "--predelay", "2", "--manifest", manifest, "-j", "1")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(rows) == 5 and {r["status"] for r in rows} == {"done"}
    for row in rows:  # the recorded levels are the seed's draws, within the ranges
        assert row["wet"] == draw(Range(0.3, 1.0), 3, "wet", row["input"], row["ir"]) and 0.3 <= row["wet"] <= 1.0
        assert 0 <= row["dry"] <= 0.5 and row["predelay_ms"] == "2ms"  # recorded with its unit
    rebuilt = tmp_path / "rebuilt"
    again = cli("batch", "--from-manifest", manifest, "-o", rebuilt, "-j", "1", "--manifest", tmp_path / "m2.csv")
    assert again.exit_code == 0, again.stderr
    assert tree_bytes(rebuilt) == tree_bytes(out) and len(tree_bytes(out)) == 5
    # a CSV manifest rebuilds it as well (its levels round-trip as text)
    third = tmp_path / "third"
    assert cli("batch", "--from-manifest", tmp_path / "m2.csv", "-o", third, "-j", "1").exit_code == 0
    assert tree_bytes(third) == tree_bytes(out)
    # and the same command with the same seed makes the same files
    same = tmp_path / "same"
    cli("batch", clips, "--ir", irs, "-o", same, "--pairs", "random", "--seed", "3", "--wet", "0.3:1.0",
        "--dry", "0:0.5", "--predelay", "2", "-j", "2")
    assert tree_bytes(same) == tree_bytes(out)


def test_usage_errors(tmp_path, rng, cli):
    clips, irs = dataset(tmp_path, rng, clips=2, irs=1)
    assert cli("batch", clips, "-o", tmp_path / "o").exit_code == 2
    result = cli("batch", clips, "--ir", irs, "-o", tmp_path / "o", "--wet", "1:0.5")
    assert result.exit_code == 2 and "reversed" in result.stderr
    result = cli("batch", clips, "--ir", irs, "-o", tmp_path / "o", "--pairs", "zip")
    assert result.exit_code == 2 and "as many IRs as inputs" in result.stderr
    result = cli("batch", clips, "--ir", irs, "-o", tmp_path / "o", "--from-manifest", tmp_path / "m.csv")
    assert result.exit_code == 2 and "--from-manifest" in result.stderr
    result = cli("batch", tmp_path / "nothing", "--ir", irs, "-o", tmp_path / "o")
    assert result.exit_code == 3 and "does not exist" in result.stderr


def test_usage_errors_of_the_convolve_options(tmp_path, rng, cli):
    clips, irs = dataset(tmp_path, rng, clips=1, irs=1)
    base = ("batch", clips, "--ir", irs, "-o", tmp_path / "o", "-j", "1")
    for options, message in [(("--wet", "0.5:-3dB"), "mixes a factor and dB"),
                             (("--dry", "-3LUFS"), "--dry"),
                             (("--loudness", "-16LUFS", "--normalize", "peak"), "--loudness"),
                             (("--trim-db", "3dB"), "--trim-db"),
                             (("--predelay", "-5ms"), "--predelay"),
                             (("--ceiling", "2dBTP"), "--ceiling")]:
        result = cli(*base, *options)
        assert result.exit_code == 2 and message in result.stderr, (options, result.stderr)
    assert not (tmp_path / "o").exists() or not os.listdir(tmp_path / "o")
