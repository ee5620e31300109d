#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Throughput and latency of amanuensis-server against the same requests run
one after another through the CLI, and optionally against whisper.cpp's
server on the same weights, all in one run on this machine.

For each concurrency C in --clients (default 1, 4, 16), C client threads send
the files of --audio (default ../shared/audio, every .wav) round-robin until
--requests requests are done (default: 2 x max(C, files)). Reported per
setting: aggregate throughput (audio seconds per wall second), p50/p99
latency of all requests and of the "short" ones (<= 3 s of audio), and the
ratio of throughput to the sequential CLI's. The idle latency of the short
files (one client, nothing else running) is measured first, so that the
p99 of short requests under load can be read as a multiple of it.

    python3 tools/bench_server.py [--json] [--clients 1,4,16]
        [--whispercpp-server PATH --whispercpp-model PATH]

Everything runs on 127.0.0.1; servers are started on ports they pick and
stopped at the end. Loops are bounded by --requests.
"""
import argparse
import concurrent.futures as cf
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave

import httpx

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def duration(path):
    with wave.open(path) as w:
        return w.getnframes() / w.getframerate()


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Amanuensis:
    name = "amanuensis-server"

    def __init__(self, args):
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ, NPU_BACKEND=os.environ.get("NPU_BACKEND", "cpu"))
        cmd = [os.path.join(args.build, "amanuensis-server"), "--listen", "127.0.0.1:0",
               "--model", args.model, "--max-concurrent", "64"]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
        line = ""
        while "listening on" not in line:
            line = self.proc.stderr.readline().decode()
            if not line and self.proc.poll() is not None:
                raise SystemExit("amanuensis-server did not start")
        self.url = re.search(r"(http://127\.0\.0\.1:\d+)", line).group(1)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for _ in self.proc.stderr:
            pass

    def request(self, client, path):
        with open(path, "rb") as f:
            r = client.post(self.url + "/v1/audio/transcriptions",
                            files={"file": (os.path.basename(path), f, "audio/wav")},
                            data={"model": "whisper-1", "response_format": "json"})
        r.raise_for_status()
        return r.json()["text"]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)


class WhisperCpp:
    name = "whisper.cpp server"

    def __init__(self, args):
        port = free_port()
        cmd = [args.whispercpp_server, "--host", "127.0.0.1", "--port", str(port),
               "-m", args.whispercpp_model, "-t", str(args.threads or os.cpu_count()),
               "-bs", "5"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("whisper.cpp server did not start")

    def request(self, client, path):
        with open(path, "rb") as f:
            r = client.post(self.url + "/inference", files={"file": (os.path.basename(path), f)},
                            data={"response_format": "json", "temperature": "0.0"})
        r.raise_for_status()
        return r.json()["text"]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_load(server, files, clients, n_requests):
    lat, lock, idx = [], threading.Lock(), [0]

    def worker():
        with httpx.Client(timeout=1800) as c:
            while True:
                with lock:
                    i = idx[0]
                    if i >= n_requests:
                        return
                    idx[0] += 1
                path = files[i % len(files)]
                t0 = time.perf_counter()
                server.request(c, path)
                with lock:
                    lat.append((duration(path), time.perf_counter() - t0))

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(clients) as ex:
        for f in [ex.submit(worker) for _ in range(clients)]:
            f.result()
    wall = time.perf_counter() - t0
    audio = sum(a for a, _ in lat)
    short = [t for a, t in lat if a <= 3.0]
    return {
        "clients": clients, "requests": len(lat), "audio_s": round(audio, 2), "wall_s": round(wall, 3),
        "throughput": round(audio / wall, 3),
        "p50_s": round(pct([t for _, t in lat], 50), 3), "p99_s": round(pct([t for _, t in lat], 99), 3),
        "short_p50_s": round(pct(short, 50), 3) if short else None,
        "short_p99_s": round(pct(short, 99), 3) if short else None,
    }


def cli_sequential(args, files):
    env = dict(os.environ, NPU_BACKEND=os.environ.get("NPU_BACKEND", "cpu"))
    t0 = time.perf_counter()
    for f in files:
        cmd = [os.path.join(args.build, "amanuensis"), "-q", "-m", args.model, "-j", "1", f]
        if args.threads:
            cmd += ["-t", str(args.threads)]
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    return sum(duration(f) for f in files) / wall


def short_clips(files, tmpdir):
    """2 s clips cut from the shared files: the 'short requests' of the p99 target."""
    out = []
    for i, f in enumerate(files[:3]):
        with wave.open(f) as w:
            rate = w.getframerate()
            frames = w.readframes(min(w.getnframes(), 2 * rate))
            p = os.path.join(tmpdir, f"short{i}.wav")
            with wave.open(p, "wb") as o:
                o.setnchannels(w.getnchannels())
                o.setsampwidth(w.getsampwidth())
                o.setframerate(rate)
                o.writeframes(frames)
        out.append(p)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audio", default=os.path.join(ROOT, "..", "shared", "audio"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "tiny.en"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--requests", type=int, default=0, help="per setting; 0: 2 x max(clients, files)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--whispercpp-server", help="whisper.cpp's whisper-server binary, built beside the project")
    ap.add_argument("--whispercpp-model", help="the same weights as a ggml file (scripts/ct2_to_ggml.py)")
    ap.add_argument("--json", action="store_true", help="one JSON object per setting on stdout")
    args = ap.parse_args()

    files = sorted(os.path.join(args.audio, f) for f in os.listdir(args.audio) if f.endswith(".wav"))
    tmpdir = tempfile.mkdtemp(prefix="bench-server-")
    shorts = short_clips(files, tmpdir)
    load_files = files + shorts
    clients = [int(c) for c in args.clients.split(",")]

    seq = cli_sequential(args, load_files)
    rows = []
    peers = [Amanuensis]
    if args.whispercpp_server and args.whispercpp_model:
        peers.append(WhisperCpp)
    for peer in peers:
        srv = peer(args)
        try:
            with httpx.Client(timeout=600) as c:
                srv.request(c, shorts[0])           # warm up
                idle = []
                for _ in range(3):
                    for s in shorts:
                        t0 = time.perf_counter()
                        srv.request(c, s)
                        idle.append(time.perf_counter() - t0)
            idle_s = statistics.median(idle)
            for n in clients:
                r = run_load(srv, load_files, n, args.requests or 2 * max(n, len(load_files)))
                r.update(impl=srv.name, sequential_cli_throughput=round(seq, 3),
                         vs_sequential_cli=round(r["throughput"] / seq, 3), short_idle_s=round(idle_s, 3),
                         short_p99_vs_idle=round(r["short_p99_s"] / idle_s, 2) if r["short_p99_s"] else None)
                rows.append(r)
                if args.json:
                    print(json.dumps(r), flush=True)
        finally:
            srv.stop()
    if not args.json:
        print(f"sequential CLI: {seq:.2f} audio s per s over {len(load_files)} files")
        print("| impl | clients | requests | audio s/s | vs sequential CLI | p50 s | p99 s "
              "| short p99 s | short p99 / idle |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['impl']} | {r['clients']} | {r['requests']} | {r['throughput']:.2f} | "
                  f"{r['vs_sequential_cli']:.2f}x | {r['p50_s']:.2f} | {r['p99_s']:.2f} | "
                  f"{r['short_p99_s']:.2f} | {r['short_p99_vs_idle']:.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
