# SPDX-License-Identifier: MIT
"""The VAD against faster-whisper: every file of ../shared/audio and
../shared/speech decoded with faster_whisper.decode_audio, the same PCM fed
to our probe (build/tests/vad_dump) and to faster-whisper's SileroVADModel
(onnxruntime) and get_speech_timestamps():

- each chunk's speech probability within 1e-3 of onnxruntime's;
- the speech timestamps equal, with the default VadOptions and with the
  batched pipeline's (max_speech_duration_s=30, min_silence_duration_ms=160);
- the region rules alone equal on random probability sequences and options;
- lengths around a multiple of 512 (faster-whisper's padding and its last
  context row) score the same.

Then the CLI end to end (--vad on silence + speech + silence gives segments
inside the speech; a missing --vad-model is a clear usage error) and the
server's vad_filter field (file times, and a 400 without a VAD).
"""
import glob
import json
import os
import random
import re
import signal
import subprocess
import tempfile
import time
import wave

import numpy as np
import pytest

fw = pytest.importorskip("faster_whisper")
from faster_whisper import decode_audio  # noqa: E402
from faster_whisper import vad as fwvad  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
DUMP = os.path.join(BUILD, "tests", "vad_dump")
CLI = os.path.join(BUILD, "amanuensis")
SERVER = os.path.join(BUILD, "amanuensis-server")
VAD = os.environ.get("AMANUENSIS_VAD", os.path.join(ROOT, "models", "silero_vad_v6.amnv"))
MODEL = os.environ.get("AMN_MODEL", os.path.join(ROOT, "models", "tiny.en"))
if not os.path.isabs(MODEL):
    MODEL = os.path.join(ROOT, MODEL)
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))
AUDIO_EXT = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a")
TOL = 1e-3

if not os.path.exists(DUMP):
    pytest.skip(f"no {DUMP} (make)", allow_module_level=True)
if not os.path.exists(VAD):
    pytest.skip(f"no VAD weights at {VAD} (scripts/silero_to_amn.py)", allow_module_level=True)


def shared_files():
    files = []
    for d in ("audio", "speech"):
        files += sorted(f for f in glob.glob(os.path.join(SHARED, d, "*"))
                        if f.lower().endswith(AUDIO_EXT))
    return files


FILES = shared_files()
BATCHED = dict(max_speech_duration_s=30, min_silence_duration_ms=160)


def dump(pcm, *args, probs=False, samples=None):
    with tempfile.NamedTemporaryFile(suffix=".f32") as t:
        np.asarray(pcm, dtype="<f4").tofile(t.name)
        cmd = [DUMP, "--model", VAD] + list(args)
        if probs:
            cmd += ["--probs", "--samples", str(samples)]
        out = subprocess.run(cmd + [t.name], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def opts_args(o):
    names = {"threshold": "--threshold", "neg_threshold": "--neg-threshold",
             "min_speech_duration_ms": "--min-speech-ms",
             "max_speech_duration_s": "--max-speech-s",
             "min_silence_duration_ms": "--min-silence-ms", "speech_pad_ms": "--speech-pad-ms"}
    args = []
    for k, v in o.items():
        args += [names[k], repr(v)]
    return args


def fw_probs(pcm):
    """The probabilities get_speech_timestamps() computes (same padding)."""
    padded = np.pad(pcm, (0, 512 - pcm.shape[0] % 512))
    return fwvad.get_vad_model()(padded)


def fw_regions(pcm, **kw):
    return [[s["start"], s["end"]] for s in
            fwvad.get_speech_timestamps(pcm, fwvad.VadOptions(**kw))]


_decoded = {}


def decoded(path):
    if path not in _decoded:
        _decoded[path] = decode_audio(path)
    return _decoded[path]


@pytest.mark.skipif(not FILES, reason=f"no audio in {SHARED}/audio or speech")
def test_probabilities_and_regions_match_faster_whisper():
    worst, worst_file, mismatches = 0.0, None, []
    for path in FILES:
        pcm = decoded(path)
        ours = dump(pcm, *opts_args({}))
        ref = fw_probs(pcm)
        got = np.array(ours["probs"], dtype=np.float64)
        assert got.shape == ref.shape, f"{path}: {got.shape} probabilities, onnxruntime {ref.shape}"
        d = float(np.abs(got - ref).max())
        if d > worst:
            worst, worst_file = d, path
        if ours["regions"] != fw_regions(pcm):
            mismatches.append((path, "default", ours["regions"], fw_regions(pcm)))
        batched = dump(pcm, *opts_args(BATCHED))["regions"]
        if batched != fw_regions(pcm, **BATCHED):
            mismatches.append((path, "batched", batched, fw_regions(pcm, **BATCHED)))
    print(f"\nVAD: {len(FILES)} files, max |ours - onnxruntime| = {worst:.3g} ({worst_file})")
    assert worst < TOL, f"max abs difference {worst} on {worst_file}"
    assert not mismatches, mismatches[:3]


@pytest.mark.skipif(not FILES, reason="no shared audio")
def test_lengths_around_a_multiple_of_512():
    pcm = decoded(FILES[0])
    base = (pcm.shape[0] // 512 - 2) * 512
    for cut in (base, base + 1, base + 300, base + 449, base + 470, base + 511):
        x = np.ascontiguousarray(pcm[:cut])
        got = np.array(dump(x)["probs"])
        ref = fw_probs(x)
        assert got.shape == ref.shape, cut
        assert np.abs(got - ref).max() < TOL, cut


def test_region_rules_on_random_probabilities():
    rng = random.Random(1234)
    orig = fwvad.get_vad_model
    try:
        for case in range(300):
            n = rng.randint(1, 3000)
            # runs of speech-like and silence-like values, with values near
            # the thresholds
            p = []
            while len(p) < n:
                v = rng.choice([0.02, 0.2, 0.34, 0.36, 0.45, 0.5, 0.55, 0.9, rng.random()])
                p += [v] * rng.randint(1, 120)
            probs = np.array(p[:n], dtype=np.float32)
            samples = (n - 1) * 512 + rng.randint(0, 511)
            o = {}
            if rng.random() < 0.5:
                o["threshold"] = rng.choice([0.3, 0.5, 0.6])
            if rng.random() < 0.3:
                o["neg_threshold"] = rng.choice([0.1, 0.25, 0.4])
            if rng.random() < 0.5:
                o["min_speech_duration_ms"] = rng.choice([0, 100, 250, 1000])
            if rng.random() < 0.5:
                o["max_speech_duration_s"] = rng.choice([2.0, 5.0, 10.0, 30.0])
            if rng.random() < 0.7:
                o["min_silence_duration_ms"] = rng.choice([0, 100, 160, 500, 2000])
            if rng.random() < 0.5:
                o["speech_pad_ms"] = rng.choice([0, 30, 200, 400])
            fwvad.get_vad_model = lambda: (lambda audio: probs)
            want = [[s["start"], s["end"]] for s in fwvad.get_speech_timestamps(
                np.zeros(samples, dtype=np.float32), fwvad.VadOptions(**o))]
            got = dump(probs, *opts_args(o), probs=True, samples=samples)["regions"]
            assert got == want, f"case {case}: options {o}"
    finally:
        fwvad.get_vad_model = orig


def write_wav(path, x):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def padded_speech(tmp_path):
    """8 s of silence, jfk.wav (11 s), 6 s of silence; the speech's span."""
    src = os.path.join(SHARED, "audio", "jfk.wav")
    if not os.path.exists(src):
        pytest.skip("no jfk.wav")
    a = decode_audio(src)
    z = np.zeros(16000 * 8, dtype=np.float32)
    x = np.concatenate([z, a, z[:16000 * 6]])
    path = str(tmp_path / "padded.wav")
    write_wav(path, x)
    return path, 8.0, 8.0 + a.shape[0] / 16000


def have_model():
    return os.path.exists(os.path.join(MODEL, "model.bin"))


@pytest.mark.skipif(not os.path.exists(CLI), reason="no CLI")
def test_cli_vad_segments_lie_inside_the_speech(tmp_path):
    if not have_model():
        pytest.skip("no model")
    path, s0, s1 = padded_speech(tmp_path)
    env = dict(os.environ, NPU_BACKEND="cpu")
    r = subprocess.run([CLI, "-q", "-m", MODEL, "--vad", "--vad-model", VAD, "-f", "json",
                        "-o", str(tmp_path), path], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    segs = json.load(open(tmp_path / "padded.json"))["segments"]
    assert segs
    for s in segs:
        assert s0 - 0.41 <= s["start"] <= s["end"] <= s1 + 0.41, s
    assert segs[0]["start"] >= s0 - 0.41
    text = "".join(s["text"] for s in segs).lower()
    assert "ask not what your country can do for you" in text
    # faster-whisper's transcribe(vad_filter=True) puts them at the same times
    # within a window's rounding (int8 tiny.en on both sides)
    try:
        from faster_whisper import WhisperModel
        m = WhisperModel(MODEL, device="cpu", compute_type="int8", cpu_threads=2)
        ref, _ = m.transcribe(path, vad_filter=True, beam_size=5)
        ref = [(s.start, s.end) for s in ref]
    except Exception as e:  # the peer is optional here
        pytest.skip(f"faster-whisper transcription unavailable: {e}")
    got = [t for s in segs for t in (s["start"], s["end"])]
    assert got == pytest.approx([t for s in ref for t in s], abs=0.021), (got, ref)


@pytest.mark.skipif(not os.path.exists(CLI), reason="no CLI")
def test_cli_missing_vad_model_is_a_usage_error(tmp_path):
    wav = str(tmp_path / "x.wav")
    write_wav(wav, np.zeros(16000, dtype=np.float32))
    r = subprocess.run([CLI, "--vad", "--vad-model", str(tmp_path / "none.amnv"), wav],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "none.amnv" in lines[0] and "--vad" in lines[0], r.stderr
    r = subprocess.run([CLI, "--vad-threshold", "0.3", wav], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "need --vad" in r.stderr


class Server:
    def __init__(self, args, env):
        self.log = tempfile.NamedTemporaryFile(suffix=".log", delete=False)
        e = dict(os.environ, NPU_BACKEND="cpu")
        e.update(env)
        self.proc = subprocess.Popen([SERVER, "--listen", "127.0.0.1:0", "--model", MODEL, "-q"]
                                     + args, stdout=subprocess.DEVNULL, stderr=self.log, env=e)
        deadline = time.time() + 60
        while time.time() < deadline:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", open(self.log.name).read())
            if m:
                self.url = f"http://127.0.0.1:{m.group(1)}"
                return
            assert self.proc.poll() is None, open(self.log.name).read()
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("server did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(60) == 0


@pytest.mark.skipif(not os.path.exists(SERVER), reason="no server")
def test_server_vad_filter(tmp_path):
    if not have_model():
        pytest.skip("no model")
    httpx = pytest.importorskip("httpx")
    path, s0, s1 = padded_speech(tmp_path)
    s = Server(["--vad-model", VAD], {})
    try:
        with open(path, "rb") as f:
            r = httpx.post(s.url + "/v1/audio/transcriptions", timeout=600,
                           files={"file": ("padded.wav", f, "audio/wav")},
                           data={"vad_filter": "true", "response_format": "verbose_json"})
        assert r.status_code == 200, r.text
        segs = r.json()["segments"]
        assert segs and all(s0 - 0.41 <= g["start"] <= g["end"] <= s1 + 0.41 for g in segs)
        assert r.json()["duration"] == pytest.approx(s1 + 6, abs=0.05)
        with open(path, "rb") as f:
            r = httpx.post(s.url + "/v1/audio/transcriptions", timeout=60,
                           files={"file": ("padded.wav", f, "audio/wav")},
                           data={"vad_filter": "perhaps"})
        assert r.status_code == 400 and r.json()["error"]["param"] == "vad_filter"
    finally:
        s.stop()
    # no VAD weights: vad_filter=true is a 400 naming the field; false still works
    s = Server([], {"AMANUENSIS_VAD": str(tmp_path / "none.amnv")})
    try:
        with open(path, "rb") as f:
            r = httpx.post(s.url + "/v1/audio/transcriptions", timeout=60,
                           files={"file": ("padded.wav", f, "audio/wav")},
                           data={"vad_filter": "true"})
        assert r.status_code == 400
        err = r.json()["error"]
        assert err["param"] == "vad_filter" and err["type"] == "invalid_request_error"
        with open(path, "rb") as f:
            r = httpx.post(s.url + "/v1/audio/transcriptions", timeout=600,
                           files={"file": ("padded.wav", f, "audio/wav")},
                           data={"vad_filter": "false"})
        assert r.status_code == 200
    finally:
        s.stop()
