# SPDX-License-Identifier: MIT
"""Fixtures for the server suite: build/amanuensis-server started on a
loopback port it picks itself (--listen 127.0.0.1:0), its port read from the
"listening on" line it prints, and stopped with SIGTERM at the end (which
must exit 0). Audio comes from ../shared/audio and samples/; the reference
transcripts from the CLI on the same files and options."""
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import wave

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
SERVER = os.path.join(BUILD, "amanuensis-server")
CLI = os.path.join(BUILD, "amanuensis")
MODEL = os.environ.get("AMN_MODEL", os.path.join(ROOT, "models", "tiny.en"))
if not os.path.isabs(MODEL):
    MODEL = os.path.join(ROOT, MODEL)
AUDIO = os.environ.get("AMN_SHARED_AUDIO", os.path.join(ROOT, "..", "shared", "audio"))
if not os.path.isabs(AUDIO):
    AUDIO = os.path.join(ROOT, AUDIO)
SAMPLE = os.path.join(ROOT, "samples", "jfk.wav")


def have_model():
    return os.path.exists(os.path.join(MODEL, "model.bin"))


class Server:
    """One running server: .url, .pid, .log() (its stderr so far), .stop()."""

    def __init__(self, args, env=None):
        self.logfile = tempfile.NamedTemporaryFile(prefix="amn-server-", suffix=".log", delete=False)
        e = dict(os.environ)
        e.setdefault("NPU_BACKEND", "cpu")
        e.pop("AMANUENSIS_MODEL", None)
        if env:
            e.update(env)
        self.proc = subprocess.Popen([SERVER, "--listen", "127.0.0.1:0", "--model", MODEL] + args,
                                     stdout=subprocess.DEVNULL, stderr=self.logfile, env=e,
                                     stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        deadline = time.time() + 60
        port = None
        while time.time() < deadline and port is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log()}")
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.log())
            if m:
                port = int(m.group(1))
            else:
                time.sleep(0.05)
        if port is None:
            self.proc.kill()
            raise RuntimeError("server did not say where it listens: " + self.log())
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def log(self):
        with open(self.logfile.name, "r", errors="replace") as f:
            return f.read()

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server ignored SIGTERM for %d s" % timeout)
        rc = self.proc.returncode
        os.unlink(self.logfile.name)
        return rc


@pytest.fixture(scope="session")
def need_server():
    if not os.access(SERVER, os.X_OK):
        pytest.skip("build/amanuensis-server is not built")
    if not have_model():
        pytest.skip("models/tiny.en missing")


@pytest.fixture
def start_server(need_server):
    """start_server(args) -> Server; every server started is stopped (exit 0 checked)."""
    started = []

    def start(args=(), env=None):
        s = Server(list(args), env)
        started.append(s)
        return s

    yield start
    for s in started:
        assert s.stop() == 0, "server did not exit 0 on SIGTERM"


@pytest.fixture(scope="module")
def shared_server(need_server):
    """One open server (no keys) shared by a module's read-only tests."""
    s = Server([])
    yield s
    assert s.stop() == 0


def keys_file(lines):
    f = tempfile.NamedTemporaryFile("w", prefix="amn-keys-", suffix=".txt", delete=False)
    f.write("\n".join(lines) + "\n")
    f.close()
    return f.name


_cli_cache = {}
_cli_lock = threading.Lock()


def cli_output(path, fmt="txt", extra=()):
    """What the CLI writes for @path in format @fmt (txt, srt, vtt, json)."""
    key = (path, fmt, tuple(extra))
    with _cli_lock:
        if key in _cli_cache:
            return _cli_cache[key]
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NPU_BACKEND="cpu")
        env.pop("AMANUENSIS_MODEL", None)
        subprocess.run([CLI, "-q", "-m", MODEL, "-f", fmt, "-o", d] + list(extra) + [path],
                       check=True, env=env, stdin=subprocess.DEVNULL)
        base = os.path.splitext(os.path.basename(path))[0]
        with open(os.path.join(d, base + "." + fmt)) as f:
            out = f.read()
    with _cli_lock:
        _cli_cache[key] = out
    return out


def shared_wavs():
    return sorted(os.path.join(AUDIO, f) for f in os.listdir(AUDIO) if f.endswith(".wav"))


def make_wav(path, seconds=None, repeat_to=None, src=SAMPLE):
    """A 16 kHz mono wav: the first @seconds of @src, or @src (and the shared
    files after it, with 0.5 s gaps) repeated until @repeat_to seconds."""
    with wave.open(src) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    if seconds is not None:
        frames = frames[: int(seconds * rate) * 2]
    if repeat_to is not None:
        pieces = []
        for f in [src] + shared_wavs():
            with wave.open(f) as w:
                if w.getframerate() == rate and w.getnchannels() == 1:
                    pieces.append(w.readframes(w.getnframes()) + b"\0\0" * (rate // 2))
        out, i = b"", 0
        while len(out) < repeat_to * rate * 2:
            out += pieces[i % len(pieces)]
            i += 1
        frames = out[: int(repeat_to * rate) * 2]
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path
