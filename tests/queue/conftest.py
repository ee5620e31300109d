# SPDX-License-Identifier: MIT
"""Fixtures for the queue suite (Documentation/scale-out.md): a real
redis-server on a free loopback port with its append-only file in a
scratch folder (restartable on the same port and data), workers
(build/amanuensis-worker) that are ready once they say so on stderr, the
front door in miniature (build/tests/amq_client, the C API for real),
and the CLI's transcripts of the same files to compare with. Every
process started is stopped at the end; every wait is bounded."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import wave

import pytest

redis = pytest.importorskip("redis")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
WORKER = os.path.join(BUILD, "amanuensis-worker")
CLIENT = os.path.join(BUILD, "tests", "amq_client")
CLI = os.path.join(BUILD, "amanuensis")
MODEL = os.environ.get("AMN_MODEL", os.path.join(ROOT, "models", "tiny.en"))
if not os.path.isabs(MODEL):
    MODEL = os.path.join(ROOT, MODEL)
AUDIO = os.environ.get("AMN_SHARED_AUDIO", os.path.join(ROOT, "..", "shared", "audio"))
if not os.path.isabs(AUDIO):
    AUDIO = os.path.join(ROOT, AUDIO)
STREAM = "amn:jobs"
GROUP = "amn-workers"


def env_cpu():
    e = dict(os.environ, NPU_BACKEND="cpu")
    e.pop("AMANUENSIS_MODEL", None)
    return e


def wait_for(cond, timeout, what, step=0.05):
    """Poll @cond until it is true; fail after @timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


def terminate(proc, timeout):
    """SIGTERM @proc and wait; kill it after @timeout s. Return: its status, None if killed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
    return proc.returncode


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server on 127.0.0.1:.port, data in .dir; .restart() keeps both."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="amn-redis-")
        self.port = free_port()
        self.url = "redis://127.0.0.1:%d" % self.port
        self.proc = None
        self.start()

    def start(self):
        log = open(os.path.join(self.dir, "redis.log"), "a")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", self.dir],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        wait_for(self._pings, 20, "redis-server to answer PING")

    def _pings(self):
        try:
            return self.client().ping()
        except redis.exceptions.ConnectionError:
            return False

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)

    def stop(self):
        """A clean shutdown: SIGTERM makes Redis write its append-only file out."""
        if self.proc:
            terminate(self.proc, 20)
        self.proc = None

    def restart(self, down_s=0.0):
        self.stop()
        time.sleep(down_s)
        self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Worker:
    """One build/amanuensis-worker; ready once it says "amanuensis-worker: ready"."""

    def __init__(self, url, args=(), env=None):
        self.logfile = tempfile.NamedTemporaryFile(prefix="amn-worker-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [WORKER, "--redis", url, "--model", MODEL, "--threads", "1"] + list(args),
            stdout=subprocess.DEVNULL, stderr=self.logfile, stdin=subprocess.DEVNULL,
            env=dict(env_cpu(), **(env or {})))
        self.pid = self.proc.pid
        wait_for(self._ready, 60, "the worker to say it is ready")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("worker exited %d: %s" % (self.proc.returncode, self.log()))
        return "amanuensis-worker: ready" in self.log()

    def log(self):
        with open(self.logfile.name, "r", errors="replace") as f:
            return f.read()

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self, timeout=60):
        """SIGTERM; return the exit status (None if it had to be killed)."""
        return terminate(self.proc, timeout)


class Client:
    """build/tests/amq_client in the background: enqueue files, wait for each answer."""

    LINE = re.compile(r"^(\d+) (\S+) (done|error|failed) ?(.*)$")

    def __init__(self, url, files, timeout_s=150, extra=()):
        self.out = tempfile.mkdtemp(prefix="amn-client-")
        self.files = list(files)
        self.err = tempfile.NamedTemporaryFile(prefix="amn-client-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [CLIENT, "--redis", url, "--timeout-s", str(timeout_s), "--out", self.out] +
            list(extra) + self.files,
            stdout=subprocess.PIPE, stderr=self.err, stdin=subprocess.DEVNULL, text=True)
        self.timeout_s = timeout_s

    def log(self):
        with open(self.err.name, "r", errors="replace") as f:
            return f.read()

    def finish(self):
        """Wait for it; return [(index, id, kind, rest, transcript or None)]."""
        try:
            stdout, _ = self.proc.communicate(timeout=self.timeout_s + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            stdout, _ = self.proc.communicate()
        rows = []
        for line in stdout.splitlines():
            m = self.LINE.match(line)
            assert m, "unexpected client line: " + line
            i, job, kind, rest = int(m.group(1)), m.group(2), m.group(3), m.group(4)
            text = None
            if kind == "done":
                with open(os.path.join(self.out, "%d.txt" % i)) as f:
                    text = f.read()
            rows.append((i, job, kind, rest, text))
        return rows

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.out, ignore_errors=True)
        os.unlink(self.err.name)


@pytest.fixture(scope="session")
def need_tools():
    for path in (WORKER, CLIENT, CLI):
        if not os.access(path, os.X_OK):
            pytest.skip(path + " is not built")
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    if not os.path.exists(os.path.join(MODEL, "model.bin")):
        pytest.skip("models/tiny.en missing")


@pytest.fixture
def redis_server(need_tools):
    r = RedisServer()
    yield r
    r.close()


@pytest.fixture
def start_worker(redis_server):
    """start_worker(args, env) -> Worker on the test's Redis (@env: more environment);
    each exits 0 on SIGTERM at the end."""
    started = []

    def start(args=(), env=None):
        w = Worker(redis_server.url, args, env)
        started.append(w)
        return w

    yield start
    bad = []
    for w in started:
        if w.proc.poll() is None:
            rc = w.stop()
            if rc != 0:
                bad.append((w.pid, rc, w.log()[-2000:]))
        os.unlink(w.logfile.name)
    assert not bad, "workers that did not exit 0 on SIGTERM: %r" % bad


@pytest.fixture
def start_client(redis_server):
    started = []

    def start(files, **kw):
        c = Client(redis_server.url, files, **kw)
        started.append(c)
        return c

    yield start
    for c in started:
        c.close()


_cli_cache = {}
_cli_lock = threading.Lock()


def cli_texts(paths):
    """{path: what `amanuensis -q -f txt` writes for it}, one CLI run for all of them."""
    todo = sorted(set(p for p in paths if p not in _cli_cache))
    if todo:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([CLI, "-q", "-m", MODEL, "-t", "2", "-f", "txt", "-o", d] + todo,
                           check=True, env=env_cpu(), stdin=subprocess.DEVNULL)
            for p in todo:
                base = os.path.splitext(os.path.basename(p))[0]
                with open(os.path.join(d, base + ".txt")) as f:
                    with _cli_lock:
                        _cli_cache[p] = f.read()
    return {p: _cli_cache[p] for p in paths}


def shared_wavs():
    return sorted(os.path.join(AUDIO, f) for f in os.listdir(AUDIO) if f.endswith(".wav"))


def repeated_wav(path, src, times):
    """@src (16 kHz mono wav) @times over, one file: a job of several windows."""
    with wave.open(src) as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    with wave.open(path, "wb") as w:
        w.setparams(params)
        w.writeframes(frames * times)
    return path


@pytest.fixture(scope="session")
def long_wav(need_tools, tmp_path_factory):
    """jfk.wav four times over (44 s, two windows) and the CLI's transcript of it."""
    path = repeated_wav(str(tmp_path_factory.mktemp("audio") / "jfk4.wav"),
                        os.path.join(AUDIO, "jfk.wav"), 4)
    return path, cli_texts([path])[path]


def result_events(r, job_id):
    """The events of job @job_id's result stream, as dicts of str."""
    out = []
    for _, fields in r.xrange("amn:result:" + job_id):
        out.append({k.decode(): v.decode(errors="replace") for k, v in fields.items()})
    return out


def pending_count(r):
    return r.xpending(STREAM, GROUP)["pending"]
