#!/usr/bin/env python3
"""Reference log-mel features for the mel test.

For every file listed in the audio manifest, decode it the way
faster-whisper does, compute its FeatureExtractor output (n_mels bins,
padded to whole 30 s windows) and write it as raw little-endian float32
to OUTDIR/<file>.mel, preceded by two int32 values: n_mels, n_frames.
"""
import argparse
import os
import struct
import sys

import numpy as np
from faster_whisper.audio import decode_audio
from faster_whisper.feature_extractor import FeatureExtractor


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--audio-dir", default="../shared/audio")
    ap.add_argument("--n-mels", type=int, default=80)
    ap.add_argument("outdir")
    args = ap.parse_args()

    fe = FeatureExtractor(feature_size=args.n_mels)
    os.makedirs(args.outdir, exist_ok=True)
    manifest = os.path.join(args.audio_dir, "manifest.tsv")
    with open(manifest, encoding="utf-8") as f:
        next(f)
        names = [line.split("\t", 1)[0] for line in f if line.strip()]
    for name in names:
        audio = decode_audio(os.path.join(args.audio_dir, name), sampling_rate=16000)
        mel = np.ascontiguousarray(fe(audio, padding=fe.n_samples), dtype="<f4")
        with open(os.path.join(args.outdir, name + ".mel"), "wb") as out:
            out.write(struct.pack("<ii", mel.shape[0], mel.shape[1]))
            out.write(mel.tobytes())
        print(f"{name}: {mel.shape[0]}x{mel.shape[1]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
