# SPDX-License-Identifier: MIT
"""amanuensis-server --queue: the front door enqueues each request through
Redis for a worker (build/amanuensis-worker) instead of decoding it, and
answers as the local server does: json and srt equal the CLI's for the
same file, a stream's deltas are the segments, bad audio is a 400 with the
worker's reason, vad_filter and batch reach the worker, and a key's limits
still hold at the front door."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time

import httpx
import pytest

from conftest import AUDIO, BUILD, CLI, MODEL, env_cpu, shared_wavs, wait_for

SERVER = os.path.join(BUILD, "amanuensis-server")


class FrontDoor:
    """build/amanuensis-server --queue URL on a port it picks; .url, .log(), .stop()."""

    def __init__(self, redis_url, args=()):
        if not os.access(SERVER, os.X_OK):
            pytest.skip(SERVER + " is not built")
        self.logfile = tempfile.NamedTemporaryFile(prefix="amn-door-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [SERVER, "--listen", "127.0.0.1:0", "--queue", redis_url] + list(args),
            stdout=subprocess.DEVNULL, stderr=self.logfile, stdin=subprocess.DEVNULL,
            env=env_cpu())
        m = wait_for(lambda: self._listening(), 60, "the front door to listen")
        self.url = "http://127.0.0.1:%s" % m.group(1)

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("front door exited %d: %s" % (self.proc.returncode, self.log()))
        return re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.log())

    def log(self):
        with open(self.logfile.name, "r", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        os.unlink(self.logfile.name)
        return self.proc.returncode


@pytest.fixture
def front_door(redis_server):
    started = []

    def start(args=()):
        d = FrontDoor(redis_server.url, args)
        started.append(d)
        return d

    yield start
    codes = [d.stop() for d in started]
    assert all(c == 0 for c in codes), "front doors that did not exit 0 on SIGTERM: %r" % codes


_cli = {}


def cli_output(path, fmt):
    """What `amanuensis -q -f FMT` writes for @path."""
    if (path, fmt) not in _cli:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([CLI, "-q", "-m", MODEL, "-f", fmt, "-o", d, path], check=True,
                           env=env_cpu(), stdin=subprocess.DEVNULL)
            base = os.path.splitext(os.path.basename(path))[0]
            with open(os.path.join(d, base + "." + fmt)) as f:
                _cli[(path, fmt)] = f.read()
    return _cli[(path, fmt)]


def post(door, path, timeout=300, headers=None, **fields):
    with open(path, "rb") as f:
        return httpx.post(door.url + "/v1/audio/transcriptions", timeout=timeout, headers=headers,
                          files={"file": (os.path.basename(path), f, "audio/wav")},
                          data=dict(model="whisper-1", **fields))


def test_json_and_srt_equal_the_cli(redis_server, start_worker, front_door):
    start_worker(["--jobs", "2"])
    door = front_door()
    files = shared_wavs()[:3]
    for path in files:
        r = post(door, path, response_format="json")
        assert r.status_code == 200, r.text
        assert r.json() == {"text": json.loads(cli_output(path, "json"))["text"]}, path
        r = post(door, path, response_format="srt")
        assert r.status_code == 200, r.text
        assert r.text == cli_output(path, "srt"), path
    assert door.log().count("status=200") == 2 * len(files)


def cli_output_args(path, fmt, args):
    """What `amanuensis -q -f FMT ARGS` writes for @path."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([CLI, "-q", "-m", MODEL, "-f", fmt, "-o", d] + list(args) + [path],
                       check=True, env=env_cpu(), stdin=subprocess.DEVNULL)
        with open(os.path.join(d, os.path.splitext(os.path.basename(path))[0] + "." + fmt)) as f:
            return f.read()


def test_vad_filter_and_batch_reach_the_worker(redis_server, start_worker, front_door, long_wav):
    """A request's vad_filter and batch travel with its job: the srt equals the
    CLI's with --vad --batch 2 (and not the sequential one's, or the test
    would prove nothing); a worker without VAD weights refuses such a job
    with its reason (400), and a plain request still works there."""
    path, _ = long_wav
    want = cli_output_args(path, "srt", ["--vad", "--batch", "2"])
    assert want != cli_output(path, "srt"), "jfk x4: --vad --batch 2 gives the sequential srt"
    w = start_worker()
    door = front_door()
    r = post(door, path, response_format="srt", vad_filter="true", batch="2")
    assert r.status_code == 200, r.text
    assert r.text == want
    w.stop()
    start_worker(env={"AMANUENSIS_VAD": "/nonexistent/silero_vad_v6.amnv"})
    r = post(door, path, response_format="json", vad_filter="true")
    assert r.status_code == 400, r.text
    assert "VAD" in r.json()["error"]["message"], r.text
    r = post(door, path, response_format="json", batch="2")
    assert r.status_code == 200, r.text
    assert r.json()["text"] == json.loads(cli_output_args(path, "json", ["--batch", "2"]))["text"]


def test_stream_verbose_and_bad_audio(redis_server, start_worker, front_door, tmp_path):
    start_worker(["--jobs", "1"])
    door = front_door()
    path = os.path.join(AUDIO, "jfk.wav")
    ref = json.loads(cli_output(path, "json"))
    deltas, done = [], None
    with open(path, "rb") as f, httpx.stream(
            "POST", door.url + "/v1/audio/transcriptions", timeout=300,
            files={"file": ("jfk.wav", f, "audio/wav")}, data={"stream": "true"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            ev = json.loads(line[6:])
            if ev["type"] == "transcript.text.delta":
                deltas.append(ev["delta"])
            elif ev["type"] == "transcript.text.done":
                done = ev["text"]
    assert deltas == [s["text"] for s in ref["segments"]]
    assert done == ref["text"]

    r = post(door, path, response_format="verbose_json")
    v = r.json()
    assert [s["text"] for s in v["segments"]] == [s["text"] for s in ref["segments"]]
    assert [s["tokens"] for s in v["segments"]] == [s["tokens"] for s in ref["segments"]]
    assert abs(v["duration"] - 11.0) < 0.01

    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\0\0\0\0WAVEjunk" + os.urandom(3000))
    r = post(door, str(junk))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"]
    assert r.json()["error"]["param"] == "file"


def test_tenant_limits_stay_at_the_front_door(redis_server, start_worker, front_door, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("k-one one 1 max_concurrent=1\nk-two two 1 audio_s_per_min=15\n")
    start_worker(["--jobs", "1"])
    door = front_door(["--keys", str(keys)])
    path = os.path.join(AUDIO, "jfk.wav")
    assert post(door, path).status_code == 401
    assert post(door, path, headers={"Authorization": "Bearer k-two"}).status_code == 200
    r = post(door, path, headers={"Authorization": "Bearer k-two"})    # 11 s more than 15/min
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text
    assert "tenant=two" in door.log()
