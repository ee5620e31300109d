# SPDX-License-Identifier: MIT
"""tests/memory/test_rss.py - memory that does not grow with the audio.

An hour of audio must fit in the memory of a minute: the CLI reads audio in
pieces and keeps per-window buffers of a fixed size, so transcribing the
long-form recording once (tools/longform.py --repeat 1, 35 s) and twelve
times over (--repeat 12, 416 s, 14 windows) must peak within a few MB of
each other. Greedy, tiny.en, INT8 (the default: the model packed as it is
read), without temperature fallback: a fallback window decodes best_of
samples, whose caches are made once on the first one and kept (bounded, but
on whether a window falls back, not on the length). Each run is a child
process; its peak RSS is the kernel's (wait4's ru_maxrss).
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
AUDIO = os.environ.get("AMN_SHARED_AUDIO", os.path.join(ROOT, "..", "shared", "audio"))
CLI = os.path.join(BUILD, "amanuensis")
MODEL = os.path.join(ROOT, "models", "tiny.en")

# what a longer file may add: its result (segments, text) and allocator slack
BOUND_KB = 15 * 1024


def child_peak_kb(args):
    """Run @args as a child (stdout to /dev/null, NPU_BACKEND=cpu); its peak RSS in kB."""
    env = dict(os.environ, NPU_BACKEND="cpu")
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.execve(args[0], args, env)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"{args} failed: {status}"
    return ru.ru_maxrss


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    if not os.access(CLI, os.X_OK):
        pytest.skip(f"{CLI} is not built")
    if not os.path.isdir(MODEL):
        pytest.skip("models/tiny.en missing")
    if not os.path.isfile(os.path.join(AUDIO, "manifest.tsv")):
        pytest.skip(f"{AUDIO} is not there")
    out = {}
    for n in (1, 12):
        d = tmp_path_factory.mktemp(f"longform{n}")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "longform.py"),
                        "--audio", AUDIO, "--repeat", str(n), str(d)],
                       check=True, stdout=subprocess.DEVNULL)
        out[n] = str(d / "longform.wav")
    return out


def test_twelve_times_the_audio_in_the_same_memory(recordings):
    base = [CLI, "-m", MODEL, "--beam-size", "1",
            "--temperature-increment-on-fallback", "0", "-t", "2"]
    short = child_peak_kb(base + [recordings[1]])
    long = child_peak_kb(base + [recordings[12]])
    print(f"peak RSS: {short} kB on 35 s, {long} kB on 416 s")
    assert long - short < BOUND_KB, \
        f"416 s peaked {long - short} kB above 35 s ({short} -> {long} kB)"
    # and the run is not trivially small: it loaded the model and decoded
    assert short > 40 * 1024
