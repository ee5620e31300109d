# SPDX-License-Identifier: MIT
"""Word timestamps against faster-whisper's word_timestamps=True on the same
CTranslate2 model (models/tiny.en, int8 both sides, beam 5, defaults
otherwise) over every recording of ../shared/audio and ../shared/speech
(45 files; WAV, FLAC, MP3, Ogg Opus, all read by our CLI).

Our INT8 decoder and CTranslate2's int8 one do not always pick the same
tokens (a comma, a capital): where the stripped word lists of a file
differ, the words both have in the same place (difflib) are compared.
Bounds (issue 16): median absolute start/end difference at most 20 ms,
95th percentile at most 100 ms; and the same words on every file whose
transcript is the same. Last, hallucination_silence_threshold on speech
between stretches of reversed speech: the same segments dropped as
faster-whisper drops."""
import os

import pytest

import wordcmp


@pytest.fixture(scope="module")
def runs():
    files = wordcmp.audio_files()
    if len(files) < 7:
        pytest.skip("../shared/audio and ../shared/speech are not there")
    if not os.path.exists(os.path.join(wordcmp.MODEL, "model.bin")):
        pytest.skip("models/tiny.en missing")
    if not os.path.exists(os.path.join(wordcmp.BUILD, "amanuensis")):
        pytest.skip("build/amanuensis missing (make)")
    pytest.importorskip("faster_whisper")
    a, ta = wordcmp.ours(files, "int8")
    b, tb = wordcmp.faster_whisper(files, "int8")
    return files, a, ta, b, tb


def test_same_words_where_the_transcript_is_the_same(runs):
    files, a, ta, b, tb = runs
    same = [f for f in files if ta[f].strip() == tb[f].strip()]
    assert len(same) >= len(files) // 2, f"only {len(same)} of {len(files)} transcripts agree"
    for f in same:
        assert [w[0] for w in a[f]] == [w[0] for w in b[f]], os.path.basename(f)
    for f in files:
        assert a[f], f"{os.path.basename(f)}: no words"
        # the words spell the transcript
        assert "".join(w[0] for w in a[f]) == ta[f], os.path.basename(f)


def test_start_and_end_within_bounds(runs):
    files, a, ta, b, tb = runs
    diffs, differ = wordcmp.compare(a, b)
    d = [x[0] for x in diffs]
    n_words = sum(len(b[f]) for f in files)
    med, p95 = wordcmp.quantile(d, 0.5), wordcmp.quantile(d, 0.95)
    print(f"{len(files)} files, {len(d) // 2} of {n_words} words compared, "
          f"{len(differ)} files with other words: median {med * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms")
    assert len(d) // 2 >= 0.9 * n_words
    assert med <= 0.020, med
    assert p95 <= 0.100, p95


def test_probabilities_close(runs):
    files, a, ta, b, tb = runs
    diffs = []
    for f in files:
        if [w[0] for w in a[f]] == [w[0] for w in b[f]]:
            diffs += [abs(x[3] - y[3]) for x, y in zip(a[f], b[f])]
    assert diffs
    assert wordcmp.quantile(diffs, 0.5) < 0.05, wordcmp.quantile(diffs, 0.5)


def test_times_ordered_inside_segments(runs):
    files, a, ta, b, tb = runs
    for f in files:
        prev = 0.0
        for w, s, e, p in a[f]:
            assert s <= e, (f, w, s, e)
            assert s >= prev - 1e-6, (f, w, s, prev)
            assert 0 < p <= 1, (f, w, p)
            prev = e


def _babble(path):
    """jfk.wav, 25 s of it reversed and quieter (speech-like, no words: tiny.en
    hallucinates text there), spk1_snt1.wav, 8 s more of it."""
    import wave
    import numpy as np

    def read(p):
        with wave.open(p) as w:
            return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16) / 32768.0

    a = read(os.path.join(wordcmp.AUDIO_DIRS[0], "jfk.wav"))
    b = read(os.path.join(wordcmp.AUDIO_DIRS[0], "spk1_snt1.wav"))
    g = 0.3 * np.tile(a[::-1], 3)[:16000 * 25]
    x = np.concatenate([a, g, b, g[:16000 * 8]])
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())


def test_hallucination_silence_threshold_as_faster_whisper(tmp_path):
    if not os.path.exists(os.path.join(wordcmp.AUDIO_DIRS[0], "jfk.wav")):
        pytest.skip("../shared/audio is not there")
    pytest.importorskip("numpy")
    fw = pytest.importorskip("faster_whisper")
    path = str(tmp_path / "babble.wav")
    _babble(path)
    _, plain = wordcmp.ours([path], "int8")
    words, guarded = wordcmp.ours([path], "int8", extra=["--hallucination-silence-threshold", "2"])
    m = fw.WhisperModel(wordcmp.MODEL, device="cpu", compute_type="int8", cpu_threads=2)
    segs, _ = m.transcribe(path, beam_size=5, word_timestamps=True,
                           hallucination_silence_threshold=2.0)
    segs = list(segs)
    ref = "".join(s.text for s in segs)
    # something was dropped, and the same as faster-whisper drops
    assert len(guarded[path]) < len(plain[path]), (guarded[path], plain[path])
    assert guarded[path].strip() == ref.strip(), (guarded[path], ref)
    starts = [w[1] for w in words[path]]
    ref_starts = [w.start for s in segs for w in s.words]
    assert len(starts) == len(ref_starts)
    assert wordcmp.quantile([abs(x - y) for x, y in zip(starts, ref_starts)], 0.5) <= 0.02
