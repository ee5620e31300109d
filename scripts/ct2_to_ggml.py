#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
scripts/ct2_to_ggml.py - convert a CTranslate2 Whisper model (model.bin +
vocabulary.txt) into a whisper.cpp ggml file, so that whisper.cpp can be
benchmarked on exactly the weights amanuensis and faster-whisper use.

Usage: scripts/ct2_to_ggml.py MODEL_DIR OUT.bin [--f32]

The ggml layout is the one whisper.cpp's loader reads (and whisper/model/load_ggml.c):
  "ggml" magic (i32), 11 i32 hyperparameters (n_vocab, n_audio_ctx,
  n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state,
  n_text_head, n_text_layer, n_mels, ftype), the mel filterbank (i32 n_mel,
  i32 n_fft, n_mel*n_fft f32), the byte-level vocabulary without special
  tokens (i32 count, then i32 length + raw bytes per token), then tensors
  (i32 n_dims, i32 name length, i32 type 0=f32/1=f16, i32 ne[] innermost
  first, name, data) under OpenAI's PyTorch names.

CTranslate2 fuses the self-attention q/k/v and the cross-attention k/v
projections; they are split again here, and the key projections (which have
no bias in Whisper) lose their all-zero bias. As in whisper.cpp's own
converter, 1-D tensors, the conv biases (stored as [n, 1]) and the positional
embeddings are written f32, every other tensor f16 (or all f32 with --f32).
The mel filterbank is computed here: librosa's Slaney-style filters, which
is what OpenAI's mel_filters.npz holds.
"""
import argparse
import struct
import sys

import numpy as np

CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(path):
    """Return {name: numpy array} for every variable of a CTranslate2 model.bin (v3..6)."""
    buf = open(path, "rb").read()
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(buf):
            raise ValueError(f"{path}: truncated at byte {pos}")
        b = buf[pos:pos + n]
        pos += n
        return b

    def u32():
        return struct.unpack("<I", take(4))[0]

    def string():
        n = struct.unpack("<H", take(2))[0]
        return take(n)[:-1].decode("utf-8")

    version = u32()
    if not 3 <= version <= 6:
        raise ValueError(f"{path}: unsupported CTranslate2 binary version {version}")
    spec = string()
    if spec != "WhisperSpec":
        raise ValueError(f"{path}: model spec is {spec!r}, expected 'WhisperSpec'")
    if version >= 4:
        u32()  # spec revision
    out = {}
    for _ in range(u32()):
        name = string()
        rank = take(1)[0]
        dims = [u32() for _ in range(rank)]
        if version >= 4:
            dt = take(1)[0]
        else:
            dt = {4: 0, 2: 4, 1: 1}[take(1)[0]]
        nbytes = u32()
        data = take(nbytes)
        if dt not in CT2_DTYPES:
            raise ValueError(f"{path}: variable {name!r}: unsupported data type {dt}")
        out[name] = np.frombuffer(data, dtype=CT2_DTYPES[dt]).reshape(dims)
    return out


def weight(v, name):
    """A float variable as float32; int8 variables are dequantised with their row scales."""
    a = v[name]
    if a.dtype == np.int8:
        scale = v[name + "_scale"].astype(np.float32)
        return a.astype(np.float32) / scale.reshape(-1, *([1] * (a.ndim - 1)))
    if a.dtype not in (np.float16, np.float32):
        raise ValueError(f"variable {name!r} is {a.dtype}, not a weight")
    return a.astype(np.float32)


def slaney_mel_filters(sr=16000, n_fft=400, n_mels=80):
    """Triangular mel filters on the Slaney scale with area normalisation (librosa defaults)."""
    f_sp, min_log_hz, min_log_mel = 200.0 / 3, 1000.0, 15.0
    logstep = np.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep,
                        f / f_sp)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    w = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        w[i] = np.maximum(0.0, np.minimum(lower, upper))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w.astype(np.float32)


def byte_decoder():
    """Inverse of GPT-2's bytes_to_unicode: printable stand-in character -> byte."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in table.items()}


def read_vocab(path):
    """The ordinary (non-special) tokens as raw bytes, in id order."""
    dec = byte_decoder()
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    tokens = []
    for tok in lines:
        if tok == "<|endoftext|>":
            return tokens
        if all(c in dec for c in tok):
            tokens.append(bytes(dec[c] for c in tok))
        else:
            tokens.append(tok.encode("utf-8"))
    raise ValueError(f"{path}: no <|endoftext|> token")


def pt_tensors(v, n_enc, n_dec, d):
    """Yield (PyTorch name, float32 array) for every tensor whisper.cpp expects."""
    def lin(pt, ct, bias=True, rows=None):
        w = weight(v, ct + "/weight")
        b = weight(v, ct + "/bias") if bias else None
        if rows is not None:
            w = w[rows[0]:rows[1]]
            b = b[rows[0]:rows[1]] if b is not None else None
        yield pt + ".weight", w
        if b is not None:
            yield pt + ".bias", b

    def ln(pt, ct):
        yield pt + ".weight", weight(v, ct + "/gamma")
        yield pt + ".bias", weight(v, ct + "/beta")

    def fused(pt, ct, parts):
        for i, part in enumerate(parts):
            w = weight(v, ct + "/weight")[i * d:(i + 1) * d]
            yield f"{pt}.{part}.weight", w
            if part != "key":
                yield f"{pt}.{part}.bias", weight(v, ct + "/bias")[i * d:(i + 1) * d]

    yield "encoder.positional_embedding", weight(v, "encoder/position_encodings/encodings")
    for c in ("conv1", "conv2"):
        yield f"encoder.{c}.weight", weight(v, f"encoder/{c}/weight")
        yield f"encoder.{c}.bias", weight(v, f"encoder/{c}/bias").reshape(-1, 1)
    for i in range(n_enc):
        pt, ct = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        yield from fused(pt + ".attn", ct + "/self_attention/linear_0", ("query", "key", "value"))
        yield from lin(pt + ".attn.out", ct + "/self_attention/linear_1")
        yield from ln(pt + ".attn_ln", ct + "/self_attention/layer_norm")
        yield from lin(pt + ".mlp.0", ct + "/ffn/linear_0")
        yield from lin(pt + ".mlp.2", ct + "/ffn/linear_1")
        yield from ln(pt + ".mlp_ln", ct + "/ffn/layer_norm")
    yield from ln("encoder.ln_post", "encoder/layer_norm")
    yield "decoder.positional_embedding", weight(v, "decoder/position_encodings/encodings")
    yield "decoder.token_embedding.weight", weight(v, "decoder/embeddings/weight")
    for i in range(n_dec):
        pt, ct = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        yield from fused(pt + ".attn", ct + "/self_attention/linear_0", ("query", "key", "value"))
        yield from lin(pt + ".attn.out", ct + "/self_attention/linear_1")
        yield from ln(pt + ".attn_ln", ct + "/self_attention/layer_norm")
        yield from lin(pt + ".cross_attn.query", ct + "/attention/linear_0")
        kv = weight(v, ct + "/attention/linear_1/weight")
        kvb = weight(v, ct + "/attention/linear_1/bias")
        yield pt + ".cross_attn.key.weight", kv[:d]
        yield pt + ".cross_attn.value.weight", kv[d:2 * d]
        yield pt + ".cross_attn.value.bias", kvb[d:2 * d]
        yield from lin(pt + ".cross_attn.out", ct + "/attention/linear_2")
        yield from ln(pt + ".cross_attn_ln", ct + "/attention/layer_norm")
        yield from lin(pt + ".mlp.0", ct + "/ffn/linear_0")
        yield from lin(pt + ".mlp.2", ct + "/ffn/linear_1")
        yield from ln(pt + ".mlp_ln", ct + "/ffn/layer_norm")
    yield from ln("decoder.ln", "decoder/layer_norm")


def n_layers(v, prefix):
    ids = {int(k[len(prefix):].split("/")[0]) for k in v
           if k.startswith(prefix) and k[len(prefix):].split("/")[0].isdigit()}
    return max(ids) + 1 if ids else 0


def scalar(v, name, default):
    return int(v[name]) if name in v else default


F32_NAMES = {"encoder.conv1.bias", "encoder.conv2.bias",
             "encoder.positional_embedding", "decoder.positional_embedding"}


def convert(model_dir, out_path, use_f16=True):
    v = read_ct2(f"{model_dir}/model.bin")
    n_audio_state, n_mels = v["encoder/conv1/weight"].shape[:2]
    n_audio_ctx = v["encoder/position_encodings/encodings"].shape[0]
    n_vocab, n_text_state = v["decoder/embeddings/weight"].shape
    n_text_ctx = v["decoder/position_encodings/encodings"].shape[0]
    n_enc, n_dec = n_layers(v, "encoder/layer_"), n_layers(v, "decoder/layer_")
    if n_audio_state != n_text_state:
        raise ValueError("encoder and decoder widths differ; not a Whisper model")
    hp = [n_vocab, n_audio_ctx, n_audio_state, scalar(v, "encoder/num_heads", n_audio_state // 64),
          n_enc, n_text_ctx, n_text_state, scalar(v, "decoder/num_heads", n_text_state // 64),
          n_dec, n_mels, 1 if use_f16 else 0]
    filters = slaney_mel_filters(16000, 400, n_mels)
    tokens = read_vocab(f"{model_dir}/vocabulary.txt")
    count = 0
    with open(out_path, "wb") as f:
        f.write(struct.pack("<i", 0x67676D6C))
        f.write(struct.pack("<11i", *hp))
        f.write(struct.pack("<ii", *filters.shape))
        f.write(filters.tobytes())
        f.write(struct.pack("<i", len(tokens)))
        for t in tokens:
            f.write(struct.pack("<i", len(t)))
            f.write(t)
        for name, a in pt_tensors(v, n_enc, n_dec, n_audio_state):
            f16 = use_f16 and a.ndim >= 2 and name not in F32_NAMES
            a = np.ascontiguousarray(a, dtype=np.float16 if f16 else np.float32)
            nb = name.encode()
            f.write(struct.pack("<iii", a.ndim, len(nb), 1 if f16 else 0))
            f.write(struct.pack(f"<{a.ndim}i", *reversed(a.shape)))
            f.write(nb)
            f.write(a.tobytes())
            count += 1
    return hp, len(tokens), count


def main():
    ap = argparse.ArgumentParser(description="CTranslate2 Whisper model -> whisper.cpp ggml file")
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--f32", action="store_true", help="write every tensor as float32")
    a = ap.parse_args()
    try:
        hp, nt, nten = convert(a.model_dir, a.out, not a.f32)
    except (OSError, ValueError, KeyError) as e:
        print(f"ct2_to_ggml: {e}", file=sys.stderr)
        return 1
    print(f"ct2_to_ggml: {a.out}: hparams {hp}, {nt} tokens, {nten} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
