# SPDX-License-Identifier: MIT
"""Word timestamps of build/amanuensis against faster-whisper's
word_timestamps=True on the same CTranslate2 model: helpers shared by
test_word_timestamps.py and by hand runs (python3 tests/words/wordcmp.py)."""
import difflib
import glob
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))
AUDIO_DIRS = [os.environ.get("AMN_SHARED_AUDIO", os.path.join(SHARED, "audio")),
              os.environ.get("AMN_SHARED_SPEECH", os.path.join(SHARED, "speech"))]
MODEL = os.path.join(ROOT, "models", "tiny.en")
EXTS = (".wav", ".flac", ".mp3", ".ogg")


def audio_files():
    files = []
    for d in AUDIO_DIRS:
        files += sorted(f for f in glob.glob(os.path.join(d, "*")) if f.endswith(EXTS))
    return files


def ours(files, precision="int8", extra=()):
    """{file: [(word, start, end, probability), ...]} and {file: text} from the CLI's JSON."""
    out = tempfile.mkdtemp(prefix="amn-words-")
    cmd = [os.path.join(BUILD, "amanuensis"), "-m", MODEL, "--precision", precision,
           "--beam-size", "5", "--word-timestamps", "-f", "json", "-o", out, "-q", "-j", "2",
           *extra, *files]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "NPU_BACKEND": os.environ.get("NPU_BACKEND", "cpu")})
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-4000:])
    words, texts = {}, {}
    for f in files:
        base = os.path.splitext(os.path.basename(f))[0]
        with open(os.path.join(out, base + ".json")) as fh:
            d = json.load(fh)
        words[f] = [(w["word"], w["start"], w["end"], w["probability"])
                    for s in d["segments"] for w in s["words"]]
        texts[f] = "".join(s["text"] for s in d["segments"])
    return words, texts


def faster_whisper(files, compute="int8", **kw):
    from faster_whisper import WhisperModel
    m = WhisperModel(MODEL, device="cpu", compute_type=compute, cpu_threads=2)
    words, texts = {}, {}
    for f in files:
        segs, _ = m.transcribe(f, beam_size=5, word_timestamps=True, **kw)
        segs = list(segs)
        words[f] = [(w.word, w.start, w.end, w.probability) for s in segs for w in s.words]
        texts[f] = "".join(s.text for s in segs)
    return words, texts


def compare(a, b):
    """Per-word absolute start and end differences (s) over the words both
    have in the same place (difflib on the stripped words), and the files
    whose stripped word lists differ."""
    diffs, differ = [], []
    for f in a:
        wa = [w[0].strip() for w in a[f]]
        wb = [w[0].strip() for w in b[f]]
        if wa != wb:
            differ.append(f)
        sm = difflib.SequenceMatcher(a=wa, b=wb, autojunk=False)
        for blk in sm.get_matching_blocks():
            for k in range(blk.size):
                x, y = a[f][blk.a + k], b[f][blk.b + k]
                diffs.append((abs(x[1] - y[1]), f, x[0], "start", x[1], y[1]))
                diffs.append((abs(x[2] - y[2]), f, x[0], "end", x[2], y[2]))
    return diffs, differ


def quantile(v, q):
    v = sorted(v)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


if __name__ == "__main__":
    precision = sys.argv[1] if len(sys.argv) > 1 else "int8"
    files = audio_files()
    a, ta = ours(files, precision)
    b, tb = faster_whisper(files, "int8" if precision == "int8" else "float32")
    diffs, differ = compare(a, b)
    d = [x[0] for x in diffs]
    print(f"{len(files)} files, {len(d) // 2} matched words, "
          f"median {quantile(d, 0.5) * 1000:.1f} ms, p95 {quantile(d, 0.95) * 1000:.1f} ms, "
          f"max {max(d) * 1000:.0f} ms")
    print(f"{len(differ)} files with different words:")
    for f in differ:
        print("  ", os.path.basename(f), "| ours:", ta[f].strip()[:100])
        print("  ", " " * len(os.path.basename(f)), "| fw:  ", tb[f].strip()[:100])
    for x in sorted(diffs, reverse=True)[:15]:
        print("   %.2f %s %r %s ours %.2f fw %.2f" % (x[0], os.path.basename(x[1]), x[2], x[3], x[4], x[5]))
