#!/usr/bin/env python3
"""Reference tensors for the forward-pass tests, from CTranslate2 (float32).

For every utterance in the shared audio manifest, writes to the output dir:
  NAME.mel.f32     log-mel, n_mels x 3000 float32 (faster-whisper's FeatureExtractor)
  NAME.enc.f32     encoder output, n_audio_ctx x d float32
  NAME.tokens.txt  greedy tokens (no timestamps, no suppression), space separated
  NAME.tokens_int8.txt  the same from CTranslate2's int8 decoder on the same
                   float32 encoder output (what quantization alone changes)
  NAME.enc_int8_cos.txt  cosine of CTranslate2's int8 encoder output against
                   its float32 one (the yardstick for our INT8 encoder)
and index.txt listing the names, plus prompt.txt (the prompt ids and eot),
model.ggml (the same weights as a whisper.cpp ggml file) and hf/model.safetensors
(as a Hugging Face checkpoint), for the tests that every format loads to the
same encoder.

usage: ct2_reference.py [--no-convert] MODEL_DIR AUDIO_DIR OUT_DIR
  --no-convert: skip model.ggml and hf/ (only the tensors and tokens)
"""
import json
import os
import struct
import sys

import numpy as np
import ctranslate2
from faster_whisper.audio import decode_audio, pad_or_trim
from faster_whisper.feature_extractor import FeatureExtractor


def read_ct2(path):
    """CTranslate2 model.bin (version >= 4) -> {name: numpy array}."""
    dt = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return v

    def string():
        nonlocal pos
        (n,) = take("<H")
        pos += n
        return buf[pos - n:pos - 1].decode()

    take("<I"), string(), take("<I")
    out = {}
    for _ in range(take("<I")[0]):
        name = string()
        (rank,) = take("<B")
        dims = take("<%dI" % rank)
        (code,) = take("<B")
        (nbytes,) = take("<I")
        out[name] = np.frombuffer(buf, dt[code], nbytes // np.dtype(dt[code]).itemsize,
                                  pos).reshape(dims)
        pos += nbytes
    return out


def write_ggml(v, path, st_path=None):
    """Write the CT2 variables as a whisper.cpp ggml file (f16 matrices)."""
    d = v["encoder/conv1/weight"].shape[0]
    n_enc = 1 + max(int(k.split("/")[1][6:]) for k in v if k.startswith("encoder/layer_") and "norm" not in k.split("/")[1])
    n_dec = 1 + max(int(k.split("/")[1][6:]) for k in v if k.startswith("decoder/layer_") and "norm" not in k.split("/")[1])
    hp = [v["decoder/embeddings/weight"].shape[0], v["encoder/position_encodings/encodings"].shape[0],
          d, int(v["encoder/num_heads"]), n_enc, v["decoder/position_encodings/encodings"].shape[0],
          d, int(v["decoder/num_heads"]), n_dec, v["encoder/conv1/weight"].shape[1], 1]
    tensors = []

    def put(name, a):
        tensors.append((name, np.asarray(a, np.float32)))

    def lin(ct2, gg, split=None, nobias=()):
        w, b = v[ct2 + "/weight"], v[ct2 + "/bias"]
        parts = split or [gg]
        n = w.shape[0] // len(parts)
        for i, p in enumerate(parts):
            put(p + ".weight", w[i * n:(i + 1) * n])
            if p not in nobias:
                put(p + ".bias", b[i * n:(i + 1) * n])

    def ln(ct2, gg):
        put(gg + ".weight", v[ct2 + "/gamma"])
        put(gg + ".bias", v[ct2 + "/beta"])

    for c in ("conv1", "conv2"):
        put("encoder.%s.weight" % c, v["encoder/%s/weight" % c])
        put("encoder.%s.bias" % c, v["encoder/%s/bias" % c])
    put("encoder.positional_embedding", v["encoder/position_encodings/encodings"])
    for l in range(n_enc):
        c, g = "encoder/layer_%d/" % l, "encoder.blocks.%d." % l
        ln(c + "self_attention/layer_norm", g + "attn_ln")
        lin(c + "self_attention/linear_0", None, [g + "attn.query", g + "attn.key", g + "attn.value"],
            [g + "attn.key"])
        lin(c + "self_attention/linear_1", g + "attn.out")
        ln(c + "ffn/layer_norm", g + "mlp_ln")
        lin(c + "ffn/linear_0", g + "mlp.0")
        lin(c + "ffn/linear_1", g + "mlp.2")
    ln("encoder/layer_norm", "encoder.ln_post")
    put("decoder.token_embedding.weight", v["decoder/embeddings/weight"])
    put("decoder.positional_embedding", v["decoder/position_encodings/encodings"])
    for l in range(n_dec):
        c, g = "decoder/layer_%d/" % l, "decoder.blocks.%d." % l
        ln(c + "self_attention/layer_norm", g + "attn_ln")
        lin(c + "self_attention/linear_0", None, [g + "attn.query", g + "attn.key", g + "attn.value"],
            [g + "attn.key"])
        lin(c + "self_attention/linear_1", g + "attn.out")
        ln(c + "attention/layer_norm", g + "cross_attn_ln")
        lin(c + "attention/linear_0", g + "cross_attn.query")
        lin(c + "attention/linear_1", None, [g + "cross_attn.key", g + "cross_attn.value"],
            [g + "cross_attn.key"])
        lin(c + "attention/linear_2", g + "cross_attn.out")
        ln(c + "ffn/layer_norm", g + "mlp_ln")
        lin(c + "ffn/linear_0", g + "mlp.0")
        lin(c + "ffn/linear_1", g + "mlp.2")
    ln("decoder/layer_norm", "decoder.ln")
    if st_path:
        write_safetensors(tensors, st_path)
    with open(path, "wb") as f:
        f.write(struct.pack("<I", 0x67676D6C) + struct.pack("<11i", *hp))
        f.write(struct.pack("<ii", 0, 0) + struct.pack("<i", 0))  # no filters, no vocab
        for name, a in tensors:
            f16 = a.ndim >= 2
            data = (a.astype(np.float16) if f16 else a).tobytes()
            nb = name.encode()
            f.write(struct.pack("<iii", a.ndim, len(nb), 1 if f16 else 0))
            f.write(struct.pack("<%di" % a.ndim, *reversed(a.shape)) + nb + data)


GG_TO_HF = [  # OpenAI (ggml) names -> Hugging Face names
    ("encoder.positional_embedding", "model.encoder.embed_positions.weight"),
    ("decoder.positional_embedding", "model.decoder.embed_positions.weight"),
    ("decoder.token_embedding.weight", "model.decoder.embed_tokens.weight"),
    ("encoder.ln_post.", "model.encoder.layer_norm."),
    ("decoder.ln.", "model.decoder.layer_norm."),
    (".blocks.", ".layers."),
    (".attn.query.", ".self_attn.q_proj."), (".attn.key.", ".self_attn.k_proj."),
    (".attn.value.", ".self_attn.v_proj."), (".attn.out.", ".self_attn.out_proj."),
    (".attn_ln.", ".self_attn_layer_norm."),
    (".cross_attn.query.", ".encoder_attn.q_proj."), (".cross_attn.key.", ".encoder_attn.k_proj."),
    (".cross_attn.value.", ".encoder_attn.v_proj."), (".cross_attn.out.", ".encoder_attn.out_proj."),
    (".cross_attn_ln.", ".encoder_attn_layer_norm."),
    (".mlp_ln.", ".final_layer_norm."), (".mlp.0.", ".fc1."), (".mlp.2.", ".fc2."),
]


def hf_name(name):
    for a, b in GG_TO_HF:
        name = name.replace(a, b)
    if not name.startswith("model."):
        name = "model." + name
    return name


def write_safetensors(tensors, path):
    """Write (OpenAI name, array) pairs as a Hugging Face safetensors file (F16)."""
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        data = np.ascontiguousarray(a, np.float16).tobytes()
        header[hf_name(name)] = {"dtype": "F16", "shape": list(a.shape),
                                 "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    args = sys.argv[1:]
    convert = "--no-convert" not in args
    args = [a for a in args if a != "--no-convert"]
    if len(args) != 3:
        sys.exit(__doc__)
    model_dir, audio_dir, out_dir = args
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(model_dir, "tokenizer.json")) as f:
        vocab = json.load(f)["added_tokens"]
    ids = {t["content"]: t["id"] for t in vocab}
    sot, nots, eot = ids["<|startoftranscript|>"], ids["<|notimestamps|>"], ids["<|endoftext|>"]

    model = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="float32",
                                       intra_threads=2)
    model8 = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="int8",
                                        intra_threads=2)
    fe = FeatureExtractor(feature_size=model.n_mels)
    if model.is_multilingual:
        prompt = [sot, ids["<|en|>"], ids["<|transcribe|>"], nots]
    else:
        prompt = [sot, nots]  # English-only: no language or task token
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
        e8 = np.array(model8.encode(sv, to_cpu=True)).astype(np.float64).ravel()
        e32 = enc_np.astype(np.float64).ravel()
        with open(os.path.join(out_dir, name + ".enc_int8_cos.txt"), "w") as f:
            f.write("%.6f\n" % (e8 @ e32 / np.sqrt((e8 @ e8) * (e32 @ e32))))
        res = model.generate(enc, [prompt], beam_size=1, max_length=448,
                             suppress_blank=False, suppress_tokens=[],
                             return_scores=False)
        toks = res[0].sequences_ids[0]
        res8 = model8.generate(enc, [prompt], beam_size=1, max_length=448,
                               suppress_blank=False, suppress_tokens=[],
                               return_scores=False)
        with open(os.path.join(out_dir, name + ".tokens_int8.txt"), "w") as f:
            f.write(" ".join(str(t) for t in res8[0].sequences_ids[0]) + "\n")
        mel.tofile(os.path.join(out_dir, name + ".mel.f32"))
        enc_np.tofile(os.path.join(out_dir, name + ".enc.f32"))
        with open(os.path.join(out_dir, name + ".tokens.txt"), "w") as f:
            f.write(" ".join(str(t) for t in toks) + "\n")
        names.append(name)
    with open(os.path.join(out_dir, "prompt.txt"), "w") as f:
        f.write("%s\n%d\n" % (" ".join(str(t) for t in prompt), eot))
    if convert:
        write_ggml(read_ct2(os.path.join(model_dir, "model.bin")),
                   os.path.join(out_dir, "model.ggml"),
                   os.path.join(out_dir, "hf", "model.safetensors"))
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main()
