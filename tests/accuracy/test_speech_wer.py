# SPDX-License-Identifier: MIT
"""Accuracy on a real test set: the 38 recordings of ../shared/speech
(LibriSpeech, LJ Speech, FLEURS, LibriVox, spontaneous, whispered and
falsetto speech; FLAC, WAV, MP3, Ogg Opus), tiny.en, beam 5, corpus WER
after openai-whisper's English normalization. Our INT8 path must not lose
more than 0.5 WER points against our own fp32 path, nor against
faster-whisper int8 on the same weights, measured in the same run by
tools/bench_transcribe.py (the same code that writes the README's table)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import BUILD, MODELS, ROOT, SPEECH
SLACK = 0.005      # 0.5 WER points


def bench(computes):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "bench_transcribe.py"), "--json",
         "--audio", SPEECH, "--models", "tiny.en", "--impls", "amanuensis,faster-whisper",
         "--beams", "5", "--computes", computes, "--no-multistream",
         "--amanuensis", os.path.join(BUILD, "amanuensis")],
        capture_output=True, text=True, timeout=3600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-4000:]
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    return {(r["impl"], r["compute"]): r for r in rows}


@pytest.fixture(scope="module")
def results(speech_inputs):
    return bench("int8,fp32")


def test_every_setting_ran(results):
    for key in (("amanuensis", "int8"), ("amanuensis", "fp32"), ("faster-whisper", "int8")):
        assert key in results, f"{key} missing: {list(results)}"
        assert results[key]["status"] == "ok", results[key]
        assert results[key]["wer"] is not None


def test_int8_within_half_a_point_of_fp32_and_faster_whisper(results):
    ours = results[("amanuensis", "int8")]["wer"]
    fp32 = results[("amanuensis", "fp32")]["wer"]
    fw = results[("faster-whisper", "int8")]["wer"]
    print(f"speech set WER: ours INT8 {ours:.4f}, ours fp32 {fp32:.4f}, faster-whisper int8 {fw:.4f}")
    assert ours <= fp32 + SLACK, f"INT8 {ours:.4f} vs fp32 {fp32:.4f}"
    assert ours <= fw + SLACK, f"INT8 {ours:.4f} vs faster-whisper int8 {fw:.4f}"
    # a sanity bound: these are clean recordings; a broken pipeline lands far above
    assert ours < 0.15, ours
