#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Throughput of the queue (Documentation/scale-out.md): the same jobs
through 1, 2 and 3 workers sharing this machine's CPU threads, against
the same jobs transcribed in one process without a queue (the server
alone when build/amanuensis-server is built, and the CLI), so that the
queue's own overhead shows. The target: at most 5 % below the server
alone at one worker.

Each run starts a fresh redis-server on a free loopback port, starts the
workers and waits until they are ready (model load is not timed), then
times build/tests/amq_client from the first enqueue to the last answer.

  python3 tools/bench_scale.py [--workers 1,2,3] [--jobs 40] [--threads N]
                               [--jobs-per-worker 2] [--repeat 2]

Prints a markdown table: jobs/s, audio seconds per wall second, and the
ratio to the baseline. Run it on a quiet machine: other load moves the
figures more than the queue does.
"""
import argparse
import concurrent.futures
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import wave

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
WORKER = os.path.join(BUILD, "amanuensis-worker")
CLIENT = os.path.join(BUILD, "tests", "amq_client")
SERVER = os.path.join(BUILD, "amanuensis-server")
CLI = os.path.join(BUILD, "amanuensis")
MODEL = os.path.join(ROOT, "models", "tiny.en")
AUDIO = os.path.join(ROOT, "..", "shared", "audio")


def env_cpu():
    e = dict(os.environ, NPU_BACKEND="cpu")
    e.pop("AMANUENSIS_MODEL", None)
    return e


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_log(path, text, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("%s exited %d" % (proc.args[0], proc.returncode))
        with open(path, errors="replace") as f:
            if text in f.read():
                return
        time.sleep(0.05)
    sys.exit("timed out waiting for %r in %s" % (text, path))


def audio_seconds(files):
    total = 0.0
    for f in files:
        with wave.open(f) as w:
            total += w.getnframes() / w.getframerate()
    return total


class Redis:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.port = free_port()
        self.url = "redis://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("redis-server did not start")

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(20)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_queue(n_workers, threads, jobs_per_worker, files):
    """Seconds from the first enqueue to the last answer through @n_workers workers."""
    r = Redis()
    workers, logs = [], []
    try:
        for i in range(n_workers):
            log = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)
            logs.append(log.name)
            p = subprocess.Popen([WORKER, "--redis", r.url, "--model", MODEL, "--name", "b%d" % i,
                                  "--threads", str(threads), "--jobs", str(jobs_per_worker)],
                                 stdout=subprocess.DEVNULL, stderr=log, env=env_cpu())
            workers.append(p)
        for p, log in zip(workers, logs):
            wait_log(log, "amanuensis-worker: ready", p)
        out = tempfile.mkdtemp(prefix="bench-client-")
        t0 = time.perf_counter()
        c = subprocess.run([CLIENT, "--redis", r.url, "--timeout-s", "3600", "--out", out] + files,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        shutil.rmtree(out, ignore_errors=True)
        if c.returncode:
            sys.exit("amq_client failed:\n" + c.stdout + c.stderr)
        return wall
    finally:
        for p in workers:
            p.send_signal(signal.SIGTERM)
        for p in workers:
            p.wait(120)
        for log in logs:
            os.unlink(log)
        r.close()


def multipart(path):
    boundary = uuid.uuid4().hex
    with open(path, "rb") as f:
        data = f.read()
    body = (("--%s\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n"
             "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
             "Content-Type: audio/wav\r\n\r\n") % (boundary, boundary, os.path.basename(path))
            ).encode() + data + ("\r\n--%s--\r\n" % boundary).encode()
    return body, "multipart/form-data; boundary=" + boundary


def run_server(threads, concurrency, files):
    """Seconds for the same jobs POSTed to one amanuensis-server, @concurrency at once."""
    log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)
    p = subprocess.Popen([SERVER, "--listen", "127.0.0.1:0", "--model", MODEL,
                          "--threads", str(threads)],
                         stdout=subprocess.DEVNULL, stderr=log, env=env_cpu())
    try:
        wait_log(log.name, "listening on http://", p)
        with open(log.name) as f:
            port = int(f.read().split("listening on http://127.0.0.1:")[1].split()[0].strip("/"))
        url = "http://127.0.0.1:%d/v1/audio/transcriptions" % port

        def post(path):
            body, ctype = multipart(path)
            req = urllib.request.Request(url, body, {"Content-Type": ctype})
            with urllib.request.urlopen(req, timeout=3600) as resp:
                json.load(resp)

        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(concurrency) as ex:
            list(ex.map(post, files))
        return time.perf_counter() - t0
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(120)
        os.unlink(log.name)


def run_cli(threads, jobs, files):
    """Seconds for the CLI on the same files without its start-up: a run on
    one short file, subtracted from a run on that file and all the others."""
    with tempfile.TemporaryDirectory() as d:
        short = min(files, key=lambda f: os.path.getsize(f))
        # The CLI names outputs after the inputs: give every job its own name.
        links = []
        for i, f in enumerate([short] + files):
            links.append(os.path.join(d, "%03d-%s" % (i, os.path.basename(f))))
            os.symlink(os.path.abspath(f), links[-1])
        walls = []
        for inputs in (links[:1], links):
            t0 = time.perf_counter()
            subprocess.run([CLI, "-q", "-m", MODEL, "-t", str(threads), "-j", str(jobs), "-f",
                            "txt", "-o", d] + inputs, check=True, env=env_cpu())
            walls.append(time.perf_counter() - t0)
        return walls[1] - walls[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default="1,2,3", help="worker counts to measure")
    ap.add_argument("--jobs", type=int, default=40, help="jobs per run")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="CPU threads in all, split evenly between the workers")
    ap.add_argument("--jobs-per-worker", type=int, default=2, help="each worker's --jobs")
    ap.add_argument("--repeat", type=int, default=2, help="runs per row; the fastest counts")
    a = ap.parse_args()

    for path in (WORKER, CLIENT, CLI):
        if not os.access(path, os.X_OK):
            sys.exit(path + " is not built (make -j2)")
    wavs = sorted(os.path.join(AUDIO, f) for f in os.listdir(AUDIO) if f.endswith(".wav"))
    files = list(itertools.islice(itertools.cycle(wavs), a.jobs))
    audio_s = audio_seconds(files)
    counts = [int(x) for x in a.workers.split(",")]

    rows = []
    if os.access(SERVER, os.X_OK):
        wall = min(run_server(a.threads, a.jobs_per_worker, files) for _ in range(a.repeat))
        rows.append(("server alone, %d at once" % a.jobs_per_worker, a.threads, wall))
    wall = min(run_cli(a.threads, a.jobs_per_worker, files) for _ in range(a.repeat))
    rows.append(("CLI, -j %d (start-up excluded)" % a.jobs_per_worker, a.threads, wall))
    base = rows[0][2]
    for n in counts:
        threads = max(1, a.threads // n)
        wall = min(run_queue(n, threads, a.jobs_per_worker, files) for _ in range(a.repeat))
        rows.append(("%d worker%s x %d jobs" % (n, "s" if n > 1 else "", a.jobs_per_worker),
                     threads, wall))

    load = os.getloadavg()
    print("%d jobs, %.1f s of audio (../shared/audio), tiny.en int8, beam 5, cpu backend; "
          "load average %.2f %.2f %.2f" % (a.jobs, audio_s, *load))
    print()
    print("| run | threads each | wall s | jobs/s | audio s / s | vs %s |" % rows[0][0].split(",")[0])
    print("|---|---:|---:|---:|---:|---:|")
    for name, threads, wall in rows:
        print("| %s | %d | %.2f | %.2f | %.1f | %.2f× |" % (name, threads, wall, a.jobs / wall,
                                                          audio_s / wall, base / wall))


if __name__ == "__main__":
    main()
