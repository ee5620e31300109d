#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
tools/bench_transcribe.py - accuracy and speed of amanuensis against its
peers, faster-whisper (CTranslate2) and whisper.cpp (pywhispercpp), in one
run on one machine over the same audio, model weights, threads and beams.

For every implementation x precision x beam x model it reports:
  rtf          realtime factor, audio seconds / wall seconds (higher is faster)
  wer          corpus-level word error rate (jiwer) after openai-whisper's
               English normalisation (tools/whisper_normalizer.py)
  peak_rss_mb  the peak resident set of the process that did the work
and the ratio of each rtf to faster-whisper int8's with the same model and
beam, measured in the same run.

Timing rule, the same for every implementation: the model is loaded and one
file (the first) transcribed once as a warm-up, then the wall time of
transcribing all files one after another, audio decoding included, is what
rtf divides by. Model load time is left out of rtf and reported on its own
(load_s). faster-whisper and whisper.cpp are timed inside a worker process
(this script run with --worker) around that loop. The amanuensis CLI loads
the model once per call; it is given the warm-up file (under another name)
followed by all files with --jobs 1, and rtf is taken from the per-file
"run" objects of its JSON output (run.wall_ms: decode of the file to the end
of its transcription, model load excluded) summed over all but the warm-up.

Each setting runs in its own child process; peak RSS is that child's
ru_maxrss from wait4(). The Python peers' number includes the interpreter
and their Python dependencies; the amanuensis number is the C process alone.

The multi-stream run gives one amanuensis process 8 files at once
(--jobs 8) and the same 8 one after another (--jobs 1), and reports the
aggregate audio seconds per second of both and their ratio. The sequential
run's process time minus the sum of its per-file wall times is its fixed
cost (load, context, exit); that cost is subtracted from the concurrent
run's process time to get its transcription span.

The peers' workers run with OMP_WAIT_POLICY=PASSIVE unless the environment
sets it: on a shared machine OpenMP threads spinning at barriers cost
whisper.cpp most of its speed. Set OMP_WAIT_POLICY=ACTIVE on an idle machine.

whisper.cpp reads a ggml file made from the same CTranslate2 weights by
scripts/ct2_to_ggml.py (into build/ggml/, made on first use).

Quantized ggml files (--ggml-types q8_0,q5_1,q4_0; any of f16 and the
types scripts/ggml_quantize.py writes): each type's file is made once into
build/ggml/ggml-MODEL-TYPE.bin from that f16 file by scripts/ggml_quantize.py
(byte-identical to whisper.cpp's quantize), and both amanuensis (which
repacks it to INT8 at load; compute "TYPE>int8") and whisper.cpp
(compute TYPE) transcribe with that same file. With --ggml-types only
these settings run (no CTranslate2 ones, no multi-stream run).

Long-form (--longform): the audio set is build/longform (tools/longform.py
builds it on first use: ../shared/audio six times, 208 s, one file), and
two more implementations join by default: faster-whisper's
BatchedInferencePipeline (impl faster-whisper-batched: batch_size 8, its
defaults otherwise, vad_filter=True among them) and amanuensis's batched
mode (impl amanuensis-batched: --batch 8, and --vad when the CLI has it),
each a row of its own next to the sequential ones. They can be named in
--impls without --longform too.

--threads takes a list (--threads 1,2): every setting runs at each count,
the column thr says which.

Usage: tools/bench_transcribe.py [--json] [--models tiny.en,base]
         [--impls amanuensis,faster-whisper,whisper.cpp] [--beams 5,1]
         [--threads 2] [--repeat N] [--audio DIR] [--no-multistream]
         [--multistream-only] [--computes int8,...] [--texts] [--by-source]
         [--ggml-types f16,q8_0,q5_1,q4_0] [--longform]

With --repeat N every setting runs N times, in rounds over all settings, and
keeps its fastest run (WER and transcripts of that run; peak RSS the highest);
the multi-stream run is repeated as well and keeps its best concurrent and best
sequential throughput (round_ratios lists each round's own ratio).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from whisper_normalizer import normalize  # noqa: E402

IMPLS = ("amanuensis", "faster-whisper", "whisper.cpp")
BATCHED_IMPLS = ("amanuensis-batched", "faster-whisper-batched")
COMPUTES = {"amanuensis": ("int8", "fp32"), "faster-whisper": ("int8", "float32"),
            "whisper.cpp": ("f16",), "amanuensis-batched": ("int8",),
            "faster-whisper-batched": ("int8",)}
BATCH = 8          # windows at once in both batched modes (faster-whisper's default)
WORKER_TIMEOUT_S = 900


def read_manifest(audio_dir):
    """[(path, duration_s, transcript)] from manifest.tsv, in its order."""
    rows = []
    audio_dir = os.path.abspath(audio_dir)
    with open(os.path.join(audio_dir, "manifest.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        ci, di, ti = header.index("file"), header.index("duration_s"), header.index("transcript")
        for line in f:
            col = line.rstrip("\n").split("\t")
            if len(col) > ti:
                rows.append((os.path.join(audio_dir, col[ci]), float(col[di]), col[ti]))
    return rows


def read_sources(audio_dir):
    """{path: source group} from manifest.tsv: the first word of its
    speaker_or_source column ("LibriSpeech", "LJSpeech", "FLEURS", ...)."""
    groups = {}
    audio_dir = os.path.abspath(audio_dir)
    with open(os.path.join(audio_dir, "manifest.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if "speaker_or_source" not in header:
            return groups
        ci, si = header.index("file"), header.index("speaker_or_source")
        for line in f:
            col = line.rstrip("\n").split("\t")
            if len(col) > max(ci, si):
                words = col[si].split()
                groups[os.path.join(audio_dir, col[ci])] = words[0].rstrip(",") if words else "?"
    return groups


# Published WER on LibriSpeech test-clean, greedy decoding, openai-whisper's
# normalizer: the Whisper paper (Radford et al., 2022), appendix D.1.1.
PUBLISHED_LIBRISPEECH_CLEAN = {"tiny.en": 0.056, "tiny": 0.076, "base.en": 0.042, "base": 0.050}


def wer_by_source(rows, groups, texts):
    """{group: corpus WER} over the files of each source group."""
    out = {}
    for g in sorted(set(groups.get(p, "?") for p, _, _ in rows)):
        pick = [(t, h) for (p, _, t), h in zip(rows, texts) if groups.get(p, "?") == g]
        out[g] = corpus_wer([t for t, _ in pick], [h for _, h in pick])
    return out


def print_by_source(results):
    """WER per source group, each setting a row; LibriSpeech beside the
    published figure for the same model."""
    names = sorted({g for r in results for g in (r.get("wer_by_source") or {})})
    if not names:
        return
    print()
    print("WER % by source (corpus WER within each group of files)")
    hdr = f"{'impl':<15} {'model':<8} {'compute':<10} {'beam':>4} " + \
        " ".join(f"{n[:11]:>11}" for n in names) + f" {'published':>10}"
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        by = r.get("wer_by_source") or {}
        pub = PUBLISHED_LIBRISPEECH_CLEAN.get(r["model"])
        print(f"{r['impl']:<15} {r['model']:<8} {r['compute']:<10} {r['beam']:>4} " +
              " ".join(fmt(None if by.get(n) is None else 100 * by[n], "11.2f") for n in names) +
              f" {fmt(None if pub is None else 100 * pub, '10.1f')}")
    print("published: LibriSpeech test-clean, greedy, the Whisper paper (appendix D.1.1)")


def corpus_wer(refs, hyps):
    import jiwer
    r = [normalize(t) for t in refs]
    h = [normalize(t) for t in hyps]
    keep = [(a, b) for a, b in zip(r, h) if a]
    if not keep:
        return None
    return jiwer.wer([a for a, _ in keep], [b for _, b in keep])


def run_child(argv, timeout=WORKER_TIMEOUT_S, env=None):
    """Run @argv, return (rc, stdout, stderr, peak_rss_mb, wall_s)."""
    t0 = time.perf_counter()
    p = _Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return -9, out.decode(errors="replace"), "timeout", None, time.perf_counter() - t0
    wall = time.perf_counter() - t0
    # RUSAGE_CHILDREN keeps the maximum over all children ever reaped, so the
    # child's own ru_maxrss is read when _Popen reaps it through wait4().
    rss = getattr(p, "_bench_rss", None)
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), rss, wall


class _Popen(subprocess.Popen):
    """Popen whose reaping goes through wait4 and keeps the child's ru_maxrss."""

    def _try_wait(self, wait_flags):
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return (self.pid, 0)
        if pid == self.pid:
            self._bench_rss = ru.ru_maxrss / 1024.0
        return (pid, sts)


# ---------------------------------------------------------------- workers

def worker_faster_whisper(spec, files):
    from faster_whisper import WhisperModel
    t0 = time.perf_counter()
    m = WhisperModel(spec["model_dir"], device="cpu", compute_type=spec["compute"],
                     cpu_threads=spec["threads"], num_workers=1)
    load = time.perf_counter() - t0

    def one(path):
        segs, _ = m.transcribe(path, beam_size=spec["beam"], language="en")
        return "".join(s.text for s in segs)
    one(files[0])
    t0 = time.perf_counter()
    texts = [one(f) for f in files]
    return load, time.perf_counter() - t0, texts


def worker_faster_whisper_batched(spec, files):
    from faster_whisper import BatchedInferencePipeline, WhisperModel
    t0 = time.perf_counter()
    m = WhisperModel(spec["model_dir"], device="cpu", compute_type=spec["compute"],
                     cpu_threads=spec["threads"], num_workers=1)
    pipe = BatchedInferencePipeline(model=m)
    load = time.perf_counter() - t0

    def one(path):
        # its defaults otherwise: vad_filter=True, without_timestamps=True
        segs, _ = pipe.transcribe(path, beam_size=spec["beam"], language="en",
                                  batch_size=spec["batch"])
        return "".join(s.text for s in segs)
    one(files[0])
    t0 = time.perf_counter()
    texts = [one(f) for f in files]
    return load, time.perf_counter() - t0, texts


def worker_whisper_cpp(spec, files):
    from pywhispercpp.model import Model
    params = dict(n_threads=spec["threads"], language="en", print_progress=False,
                  print_realtime=False)
    if spec["beam"] > 1:
        params["beam_search"] = {"beam_size": spec["beam"], "patience": -1.0}
    t0 = time.perf_counter()
    m = Model(spec["ggml"], params_sampling_strategy=1 if spec["beam"] > 1 else 0,
              redirect_whispercpp_logs_to=None, **params)
    load = time.perf_counter() - t0

    def one(path):
        # pywhispercpp reads only 16 kHz WAV itself (else it needs an
        # ffmpeg program): every file is decoded and resampled here, by
        # PyAV through faster-whisper's decode_audio, inside the timed loop
        # as the others decode theirs
        from faster_whisper.audio import decode_audio
        return " ".join(s.text for s in m.transcribe(decode_audio(path, sampling_rate=16000)))
    one(files[0])
    t0 = time.perf_counter()
    texts = [one(f) for f in files]
    return load, time.perf_counter() - t0, texts


def worker_main(spec_json):
    spec = json.loads(spec_json)
    fn = {"faster-whisper": worker_faster_whisper, "whisper.cpp": worker_whisper_cpp,
          "faster-whisper-batched": worker_faster_whisper_batched}[spec["impl"]]
    load, wall, texts = fn(spec, spec["files"])
    print(json.dumps({"load_s": load, "wall_s": wall, "texts": texts}))
    return 0


# ---------------------------------------------------------------- settings

def result(impl, model, compute, beam, **kw):
    r = {"impl": impl, "model": model, "compute": compute, "beam": beam,
         "rtf": None, "wer": None, "peak_rss_mb": None}
    r.update(kw)
    return r


def bench_peer(impl, model, compute, beam, args, rows, ggml=None):
    spec = {"impl": impl, "compute": compute, "beam": beam, "threads": args.threads,
            "model_dir": os.path.join(args.models_dir, model), "files": [p for p, _, _ in rows],
            "batch": BATCH}
    if impl == "whisper.cpp":
        spec["ggml"] = ggml or ensure_ggml(model, args)
        if not spec["ggml"]:
            return result(impl, model, compute, beam, status="unavailable: no ggml model")
    # OpenMP threads that spin at barriers lose most of their time when the
    # machine is shared (whisper.cpp ran 4x slower at load 11 on 2 CPUs):
    # passive waiting unless the caller's environment says otherwise.
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    rc, out, err, rss, _ = run_child([sys.executable, os.path.abspath(__file__), "--worker",
                                      json.dumps(spec)], env=env)
    if rc != 0:
        tail = (err.strip().splitlines() or ["?"])[-1]
        return result(impl, model, compute, beam, status=f"failed: {tail}")
    w = json.loads(out.strip().splitlines()[-1])
    audio = sum(d for _, d, _ in rows)
    return result(impl, model, compute, beam, rtf=audio / w["wall_s"],
                  wer=corpus_wer([t for _, _, t in rows], w["texts"]),
                  peak_rss_mb=rss, audio_s=audio, wall_s=w["wall_s"], load_s=w["load_s"],
                  threads=args.threads, status="ok", texts=w["texts"])


def amanuensis_path(args):
    p = os.path.join(ROOT, args.amanuensis) if not os.path.isabs(args.amanuensis) else args.amanuensis
    return p if os.access(p, os.X_OK) else None


def amanuensis_has_vad(args):
    """Whether the CLI has --vad (the batched row then uses it, as faster-whisper's does)."""
    rc, out, _, _, _ = run_child([amanuensis_path(args), "--help"], timeout=60)
    return rc == 0 and "--vad" in out


def run_amanuensis(args, model, compute, beam, paths, jobs, outdir, model_path=None, extra=()):
    """Run the CLI over @paths; return (rc, err, rss, process wall, {basename: json})."""
    argv = [amanuensis_path(args), "--model", model_path or os.path.join(args.models_dir, model),
            "--precision", compute, "--beam-size", str(beam), "--threads", str(args.threads),
            "--jobs", str(jobs), "--output-format", "json", "--output-dir", outdir, "-q"]
    argv += list(extra)
    if not model.endswith(".en"):
        argv += ["--language", "en"]
    rc, _, err, rss, wall = run_child(argv + paths)
    docs = {}
    for p in paths:
        base = os.path.splitext(os.path.basename(p))[0]
        try:
            with open(os.path.join(outdir, base + ".json"), encoding="utf-8") as f:
                docs[base] = json.load(f)
        except (OSError, ValueError):
            pass
    return rc, err, rss, wall, docs


def doc_text(doc):
    return "".join(s.get("text", "") for s in doc.get("segments", []))


def doc_wall_s(doc):
    run = doc.get("run") or {}
    return run["wall_ms"] / 1000.0 if isinstance(run.get("wall_ms"), (int, float)) else None


def bench_amanuensis(model, compute, beam, args, rows, model_path=None, label=None,
                     impl="amanuensis"):
    """@model_path: a model file to read instead of models/@model (a quantized
    ggml file); @label: the compute column for it; @impl amanuensis-batched:
    the batched mode (--batch 8, --vad when the CLI has it)."""
    if not amanuensis_path(args):
        return result(impl, model, compute, beam,
                      status=f"unavailable: {args.amanuensis} not built")
    extra = []
    if impl == "amanuensis-batched":
        extra = ["--batch", str(BATCH)] + (["--vad"] if amanuensis_has_vad(args) else [])
    tmp = tempfile.mkdtemp(prefix="amn_bench_")
    try:
        warm = os.path.join(tmp, "zz_warmup" + os.path.splitext(rows[0][0])[1])
        os.symlink(os.path.abspath(rows[0][0]), warm)
        paths = [warm] + [p for p, _, _ in rows]
        rc, err, rss, pwall, docs = run_amanuensis(args, model, compute, beam, paths, 1,
                                                   os.path.join(tmp, "out"), model_path, extra)
        if label:
            compute = label
        if rc != 0:
            tail = (err.strip().splitlines() or [f"exit {rc}"])[-1]
            return result(impl, model, compute, beam, status=f"failed: {tail}")
        texts, walls = [], []
        for p, _, _ in rows:
            d = docs.get(os.path.splitext(os.path.basename(p))[0])
            if d is None:
                return result(impl, model, compute, beam,
                              status=f"failed: no JSON for {os.path.basename(p)}")
            texts.append(doc_text(d))
            walls.append(doc_wall_s(d))
        audio = sum(d for _, d, _ in rows)
        warm_wall = doc_wall_s(docs.get("zz_warmup", {})) or 0.0
        if any(w is None for w in walls):
            wall, how = pwall, "process wall (no run.wall_ms in JSON)"
        else:
            wall, how = sum(walls), "sum of run.wall_ms"
        # load_s: the rest of the process time (model load, context, exit)
        return result(impl, model, compute, beam, rtf=audio / wall,
                      wer=corpus_wer([t for _, _, t in rows], texts), peak_rss_mb=rss,
                      audio_s=audio, wall_s=wall, load_s=max(0.0, pwall - wall - warm_wall),
                      timing=how, threads=args.threads, extra_args=" ".join(extra),
                      status="ok", texts=texts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_multistream(args, rows, model="tiny.en", compute="int8", beam=5, n=8):
    base = {"bench": "multistream", "impl": "amanuensis", "model": model, "compute": compute,
            "beam": beam, "streams": n}
    if not amanuensis_path(args):
        return dict(base, concurrent_rtf=None, sequential_rtf=None, ratio=None,
                    status=f"unavailable: {args.amanuensis} not built")
    tmp = tempfile.mkdtemp(prefix="amn_multi_")
    try:
        paths, audio = [], 0.0
        for i in range(n):   # n distinct names over the manifest's files, cycled
            p, d, _ = rows[i % len(rows)]
            link = os.path.join(tmp, f"s{i}_{os.path.basename(p)}")
            os.symlink(os.path.abspath(p), link)
            paths.append(link)
            audio += d
        out = {}
        for jobs in (1, n):
            rc, err, rss, pwall, docs = run_amanuensis(args, model, compute, beam, paths, jobs,
                                                       os.path.join(tmp, f"out{jobs}"))
            walls = [doc_wall_s(d) for d in docs.values()]
            if rc != 0 or len(docs) != n or any(w is None for w in walls):
                tail = (err.strip().splitlines() or [f"exit {rc}"])[-1]
                return dict(base, concurrent_rtf=None, sequential_rtf=None, ratio=None,
                            status=f"failed (--jobs {jobs}): {tail}")
            out[jobs] = (pwall, sum(walls), rss)
        seq_wall = out[1][1]
        fixed = max(0.0, out[1][0] - out[1][1])
        conc_wall = max(1e-9, out[n][0] - fixed)
        seq, conc = audio / seq_wall, audio / conc_wall
        return dict(base, audio_s=audio, concurrent_rtf=conc, sequential_rtf=seq,
                    ratio=conc / seq, concurrent_wall_s=conc_wall, sequential_wall_s=seq_wall,
                    fixed_cost_s=fixed, concurrent_peak_rss_mb=out[n][2],
                    sequential_peak_rss_mb=out[1][2], status="ok")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_ggml(model, args):
    path = os.path.join(ROOT, "build", "ggml", f"ggml-{model}.bin")
    if os.path.exists(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rc = subprocess.call([sys.executable, os.path.join(ROOT, "scripts", "ct2_to_ggml.py"),
                          os.path.join(args.models_dir, model), path + ".tmp"],
                         stdout=subprocess.DEVNULL)
    if rc != 0:
        return None
    os.replace(path + ".tmp", path)
    return path


def ensure_ggml_type(model, qtype, args):
    """build/ggml/ggml-@model-@qtype.bin, quantized from the f16 file on first use."""
    f16 = ensure_ggml(model, args)
    if not f16 or qtype == "f16":
        return f16
    path = os.path.join(ROOT, "build", "ggml", f"ggml-{model}-{qtype}.bin")
    if os.path.exists(path):
        return path
    rc = subprocess.call([sys.executable, os.path.join(ROOT, "scripts", "ggml_quantize.py"),
                          f16, path + ".tmp", qtype], stderr=subprocess.DEVNULL)
    if rc != 0:
        return None
    os.replace(path + ".tmp", path)
    return path


def bench_ggml_type(impl, model, qtype, beam, args, rows):
    """One setting on a quantized ggml file: amanuensis INT8 from it, or whisper.cpp on it."""
    path = ensure_ggml_type(model, qtype, args)
    label = f"{qtype}>int8" if impl == "amanuensis" else qtype
    if not path:
        return result(impl, model, label, beam, status=f"unavailable: no {qtype} ggml file")
    if impl == "amanuensis":
        return bench_amanuensis(model, "int8", beam, args, rows, model_path=path, label=label)
    return bench_peer(impl, model, qtype, beam, args, rows, ggml=path)


# ---------------------------------------------------------------- report

def _round(v):
    """Floats to 6 significant digits for the JSON lines."""
    return float(f"{v:.6g}") if isinstance(v, float) else v


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(results, ms):
    ref = {(r["model"], r["beam"], r.get("threads")): r["rtf"] for r in results
           if r["impl"] == "faster-whisper" and r["compute"] == "int8" and r["rtf"]}
    hdr = f"{'impl':<22} {'model':<8} {'compute':<10} {'beam':>4} {'thr':>3} {'rtf':>8} " \
          f"{'vs fw-int8':>10} {'wer %':>6} {'rss MB':>7} {'load s':>7}  status"
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        key = (r["model"], r["beam"], r.get("threads"))
        rel = r["rtf"] / ref[key] if r["rtf"] and ref.get(key) else None
        print(f"{r['impl']:<22} {r['model']:<8} {r['compute']:<10} {r['beam']:>4} "
              f"{fmt(r.get('threads'), '3d')} {fmt(r['rtf'], '8.2f')} {fmt(rel, '10.2f')} "
              f"{fmt(None if r['wer'] is None else 100 * r['wer'], '6.2f')} "
              f"{fmt(r['peak_rss_mb'], '7.0f')} {fmt(r.get('load_s'), '7.2f')}  {r['status']}")
    if ms:
        print()
        if ms["status"] == "ok":
            print(f"multistream ({ms['streams']} files, {ms['model']} {ms['compute']} beam "
                  f"{ms['beam']}): concurrent {ms['concurrent_rtf']:.2f} audio-s/s, "
                  f"sequential {ms['sequential_rtf']:.2f} audio-s/s, ratio {ms['ratio']:.2f}")
        else:
            print(f"multistream: {ms['status']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help="also print one JSON object per setting")
    ap.add_argument("--audio", default=os.environ.get("AMN_SHARED_AUDIO",
                                                      os.path.join(ROOT, "..", "shared", "audio")))
    ap.add_argument("--models-dir", default=os.path.join(ROOT, "models"))
    ap.add_argument("--models", default=None,
                    help="comma list (default: tiny.en, and base if models/base exists)")
    ap.add_argument("--impls", default=None,
                    help="comma list (default: " + ",".join(IMPLS) + "; with --longform also "
                         + ",".join(BATCHED_IMPLS) + ")")
    ap.add_argument("--computes", default=None,
                    help="comma list to restrict precisions (e.g. int8,float32,f16)")
    ap.add_argument("--beams", default="5,1")
    ap.add_argument("--threads", default="2",
                    help="CPU threads, or a comma list: every setting at each (default 2)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds over all settings; each keeps its fastest (default 1)")
    ap.add_argument("--amanuensis", default="build/amanuensis")
    ap.add_argument("--no-multistream", action="store_true")
    ap.add_argument("--multistream-only", action="store_true")
    ap.add_argument("--texts", action="store_true", help="print each setting's transcripts")
    ap.add_argument("--by-source", action="store_true",
                    help="also WER per source group of the manifest (LibriSpeech beside its "
                         "published figure)")
    ap.add_argument("--ggml-types", default=None,
                    help="comma list of ggml types (f16, q8_0, q5_1, q4_0, ...): amanuensis and "
                         "whisper.cpp on the same quantized files, and nothing else")
    ap.add_argument("--longform", action="store_true",
                    help="the 208 s long-form recording (build/longform, made by "
                         "tools/longform.py) as the audio set, with the batched rows")
    args = ap.parse_args()
    args.models_dir = os.path.abspath(args.models_dir)
    if args.worker:
        return worker_main(args.worker)
    try:
        thread_list = [int(t) for t in str(args.threads).split(",") if t]
    except ValueError:
        ap.error(f"--threads {args.threads!r}: not a number or a comma list of numbers")
    if not thread_list or min(thread_list) < 1:
        ap.error("--threads: at least one count, each 1 or more")
    args.threads = thread_list[0]
    if args.impls is None:
        args.impls = ",".join(IMPLS + (BATCHED_IMPLS if args.longform else ()))
    if args.longform:
        lf = os.path.join(ROOT, "build", "longform")
        if not os.path.exists(os.path.join(lf, "manifest.tsv")):
            rc = subprocess.call([sys.executable, os.path.join(HERE, "longform.py"), "--audio",
                                  args.audio, lf], stdout=subprocess.DEVNULL)
            if rc != 0:
                print(f"tools/longform.py failed (exit {rc})", file=sys.stderr)
                return 1
        args.audio = lf

    rows = read_manifest(args.audio)
    if args.models:
        models = args.models.split(",")
    else:
        models = ["tiny.en"] + (["base"] if os.path.exists(
            os.path.join(args.models_dir, "base", "model.bin")) else [])
    impls = [i for i in args.impls.split(",") if i]
    for i in impls:
        if i not in IMPLS + BATCHED_IMPLS:
            ap.error(f"unknown implementation {i!r} (know {', '.join(IMPLS + BATCHED_IMPLS)})")
    beams = [int(b) for b in args.beams.split(",")]
    only = set(args.computes.split(",")) if args.computes else None

    results = []
    gtypes = [t for t in (args.ggml_types or "").split(",") if t]
    if gtypes:
        args.no_multistream = True
        impls = [i for i in impls if i in ("amanuensis", "whisper.cpp")]
    if not args.multistream_only:
        if gtypes:
            settings = [(model, beam, impl, "ggml:" + t, thr) for thr in thread_list
                        for model in models for beam in beams for t in gtypes for impl in impls]
        else:
            settings = [(model, beam, impl, compute, thr) for thr in thread_list
                        for model in models for beam in beams
                        for impl in impls for compute in COMPUTES[impl]
                        if not only or compute in only]
        best = {}
        # Rounds go over every setting in turn, so that a busy spell on a
        # shared machine hits all implementations rather than one.
        for rnd in range(args.repeat):
            for key in settings:
                model, beam, impl, compute, args.threads = key
                if compute.startswith("ggml:"):
                    r = bench_ggml_type(impl, model, compute[5:], beam, args, rows)
                elif impl in ("amanuensis", "amanuensis-batched"):
                    r = bench_amanuensis(model, compute, beam, args, rows, impl=impl)
                else:
                    r = bench_peer(impl, model, compute, beam, args, rows)
                print(f"  [{rnd + 1}/{args.repeat}] {impl} {model} {compute} beam {beam} "
                      f"threads {args.threads}: "
                      f"{fmt(r['rtf'], '.2f')} x realtime, {r['status']}",
                      file=sys.stderr, flush=True)
                b = best.get(key)
                if b is None or (r["rtf"] or 0) > (b["rtf"] or 0):
                    if b is not None and b["peak_rss_mb"] and r["peak_rss_mb"]:
                        r["peak_rss_mb"] = max(r["peak_rss_mb"], b["peak_rss_mb"])
                    best[key] = r
        results = [dict(best[k], runs=args.repeat) for k in settings]
    args.threads = thread_list[0]
    ms = None
    if not args.no_multistream and "amanuensis" in impls:
        # Best concurrent and best sequential over the rounds; every
        # round's own ratio is kept too, to show the spread.
        runs = [bench_multistream(args, rows) for _ in range(args.repeat)]
        ok = [m for m in runs if m["status"] == "ok"]
        ms = runs[0]
        if ok:
            ms = dict(ok[0], concurrent_rtf=max(m["concurrent_rtf"] for m in ok),
                      sequential_rtf=max(m["sequential_rtf"] for m in ok),
                      round_ratios=[m["ratio"] for m in ok], runs=len(ok))
            ms["ratio"] = ms["concurrent_rtf"] / ms["sequential_rtf"]
            ms["concurrent_wall_s"] = ms["audio_s"] / ms["concurrent_rtf"]
            ms["sequential_wall_s"] = ms["audio_s"] / ms["sequential_rtf"]
            ms["fixed_cost_s"] = [m["fixed_cost_s"] for m in ok]
            ms["concurrent_peak_rss_mb"] = max(m["concurrent_peak_rss_mb"] or 0 for m in ok)
            ms["sequential_peak_rss_mb"] = max(m["sequential_peak_rss_mb"] or 0 for m in ok)

    print(f"{len(rows)} files, {sum(d for _, d, _ in rows):.1f} s of audio, "
          f"{','.join(str(t) for t in thread_list)} threads, host {os.uname().nodename}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print_table(results, ms)
    if args.by_source:
        groups = read_sources(args.audio)
        for r in results:
            if r.get("texts"):
                r["wer_by_source"] = wer_by_source(rows, groups, r["texts"])
        print_by_source(results)
    if args.texts:
        for r in results:
            for (p, _, ref), t in zip(rows, r.get("texts") or []):
                print(f"[{r['impl']} {r['model']} {r['compute']} b{r['beam']} "
                      f"t{r.get('threads')}] "
                      f"{os.path.basename(p)}: {t.strip()}")
    if args.json:
        for r in results:
            print(json.dumps({k: ({g: _round(w) for g, w in v.items()} if isinstance(v, dict)
                                  else _round(v)) for k, v in r.items() if k != "texts"}))
        if ms:
            print(json.dumps({k: [_round(x) for x in v] if isinstance(v, list) else _round(v)
                              for k, v in ms.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
