#!/usr/bin/env python3
"""Reference tensors for the forward-pass tests, from CTranslate2 (float32).

For every utterance in the shared audio manifest, writes to the output dir:
  NAME.mel.f32     log-mel, n_mels x 3000 float32 (faster-whisper's FeatureExtractor)
  NAME.enc.f32     encoder output, n_audio_ctx x d float32
  NAME.tokens.txt  greedy tokens (no timestamps, no suppression), space separated
and index.txt listing the names, plus prompt.txt (the prompt ids and eot).

usage: ct2_reference.py MODEL_DIR AUDIO_DIR OUT_DIR
"""
import json
import os
import sys

import numpy as np
import ctranslate2
from faster_whisper.audio import decode_audio, pad_or_trim
from faster_whisper.feature_extractor import FeatureExtractor


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    model_dir, audio_dir, out_dir = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(model_dir, "tokenizer.json")) as f:
        vocab = json.load(f)["added_tokens"]
    ids = {t["content"]: t["id"] for t in vocab}
    sot, nots, eot = ids["<|startoftranscript|>"], ids["<|notimestamps|>"], ids["<|endoftext|>"]
    prompt = [sot, nots]  # English-only models: no language or task token

    model = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="float32",
                                       intra_threads=2)
    fe = FeatureExtractor(feature_size=model.n_mels)
    names = []
    with open(os.path.join(audio_dir, "manifest.tsv")) as f:
        rows = [l.rstrip("\n").split("\t") for l in f][1:]
    for row in rows:
        wav = row[0]
        name = os.path.splitext(wav)[0]
        audio = decode_audio(os.path.join(audio_dir, wav), sampling_rate=16000)
        mel = pad_or_trim(fe(audio)).astype(np.float32)          # n_mels x 3000
        sv = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
        enc = model.encode(sv, to_cpu=True)
        enc_np = np.array(enc).astype(np.float32)[0]
        res = model.generate(enc, [prompt], beam_size=1, max_length=448,
                             suppress_blank=False, suppress_tokens=[],
                             return_scores=False)
        toks = res[0].sequences_ids[0]
        mel.tofile(os.path.join(out_dir, name + ".mel.f32"))
        enc_np.tofile(os.path.join(out_dir, name + ".enc.f32"))
        with open(os.path.join(out_dir, name + ".tokens.txt"), "w") as f:
            f.write(" ".join(str(t) for t in toks) + "\n")
        names.append(name)
    with open(os.path.join(out_dir, "prompt.txt"), "w") as f:
        f.write("%s\n%d\n" % (" ".join(str(t) for t in prompt), eot))
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main()
