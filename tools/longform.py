#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
tools/longform.py - build the long-form benchmark recording, the same bytes
on every machine: the files of ../shared/audio sorted by name, each followed
by 0.5 s of digital silence, the whole sequence six times over (about
208 s). Writes OUT_DIR/longform.wav and OUT_DIR/manifest.tsv (the manifest
format of ../shared/audio: one row, the transcripts joined by spaces in the
same order), so that the benchmark and the tests read it like any other
audio set.

--match PREFIX keeps only the files whose names start with PREFIX, and
--name sets the output's base name: the accuracy set's LJ Speech
utterances in order, once, are
  tools/longform.py --audio ../shared/speech --match coqui-LJ --repeat 1 --name lj OUT_DIR
16 kHz mono 16-bit WAV is copied sample for sample; anything else (other
rates, FLAC, MP3, Opus) is decoded and resampled to 16 kHz by
faster_whisper.decode_audio (PyAV), then rounded to 16 bits.

usage: tools/longform.py [--audio DIR] [--match PREFIX] [--repeat 6] [--gap 0.5]
                         [--name longform] OUT_DIR
"""
import argparse
import os
import sys
import wave

RATE = 16000


def read_manifest(audio_dir):
    rows = {}
    with open(os.path.join(audio_dir, "manifest.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col_file, col_text = header.index("file"), header.index("transcript")
        for line in f:
            cells = line.rstrip("\n").split("\t")
            if len(cells) > max(col_file, col_text):
                rows[cells[col_file]] = cells[col_text]
    return rows


def read_pcm16(path):
    """16 kHz mono 16-bit little-endian samples of @path."""
    try:
        with wave.open(path, "rb") as w:
            if w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2:
                return w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        pass
    import numpy as np
    from faster_whisper import decode_audio
    pcm = decode_audio(path, sampling_rate=RATE)
    return (np.clip(np.round(pcm * 32768.0), -32768, 32767).astype("<i2")).tobytes()


def build(audio_dir, out_dir, repeat=6, gap_s=0.5, match="", name="longform"):
    """Write the recording and its manifest; return (wav path, seconds)."""
    texts = read_manifest(audio_dir)
    names = sorted(n for n in texts if n.startswith(match))
    if not names:
        sys.exit(f"longform: no files starting with {match!r} in {audio_dir}/manifest.tsv")
    pieces = [read_pcm16(os.path.join(audio_dir, n)) for n in names]
    silence = b"\0\0" * int(round(gap_s * RATE))
    os.makedirs(out_dir, exist_ok=True)
    wav_path = os.path.join(out_dir, name + ".wav")
    n_samples = 0
    with wave.open(wav_path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        for _ in range(repeat):
            for pcm in pieces:
                w.writeframes(pcm)
                w.writeframes(silence)
                n_samples += (len(pcm) + len(silence)) // 2
    duration = n_samples / RATE
    transcript = " ".join([" ".join(texts[n] for n in names)] * repeat)
    with open(os.path.join(out_dir, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tduration_s\tspeaker_or_source\tlicense\torigin\ttranscript\n")
        f.write(f"{name}.wav\t{duration:.3f}\t{len(names)} files of {audio_dir}, "
                f"{repeat} times\tas the sources\ttools/longform.py\t{transcript}\n")
    return wav_path, duration


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--audio", default=os.environ.get(
        "AMN_SHARED_AUDIO", os.path.join(here, "..", "..", "shared", "audio")))
    ap.add_argument("--repeat", type=int, default=6)
    ap.add_argument("--gap", type=float, default=0.5)
    ap.add_argument("--match", default="", help="only files whose names start with this")
    ap.add_argument("--name", default="longform", help="output base name (default longform)")
    ap.add_argument("out_dir")
    args = ap.parse_args()
    path, duration = build(args.audio, args.out_dir, args.repeat, args.gap, args.match, args.name)
    print(f"{path}\t{duration:.3f} s")


if __name__ == "__main__":
    main()
