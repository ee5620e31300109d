#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How much a q8_0 ggml file loses by being packed onto our INT8 grid.

A q8_0 tensor holds int8 values with one half-float scale per 32 inputs;
our INT8 packing (tiler/tile_weights.c, tile_weights_pack_f32) has one scale
per output row and 128 inputs (per head slice for the layers packed in
groups, whisper/model/model_pack.c), chosen among the max-abs scale and
eight tighter clips by squared error. Loading a q8_0 file therefore rounds
twice: the file's rounding, then ours. This script measures, over every
layer we pack, the relative RMS error (sqrt(sum err^2 / sum w^2)) of

  file      the q8_0 file's values (scripts/ggml_quantize.py's q8_0, byte for
            byte whisper.cpp's) against the f16 weights: what keeping
            q8_0's own per-32 scales would give;
  ours(q8)  our packing of the q8_0 file's values against the f16 weights:
            what we run today (two roundings);
  ours(f16) our packing of the f16 weights (one rounding), the f16 file's
            INT8 path;
  q8->ours  our packing of the q8_0 values against those values (the
            second rounding alone);

and, for a picture of what reaches a matmul, the same for y = W x with x
drawn from N(0, 1) (64 random inputs per layer). "layers" are the linear
layers and convolutions (as tests/test_ggml_quant.c sums them; the convs
stay f16 in a q8_0 file), "embedding" the token embedding (the logits).

usage: q8_requant_error.py MODEL_DIR [MODEL_DIR...]   (CTranslate2 folders)
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ct2_to_ggml import n_layers, read_ct2, weight  # noqa: E402
from ggml_quantize import q8_0  # noqa: E402

KBLOCK, CLIP_STEPS = 128, 9
F = np.float32


def q8_0_values(w):
    """The float values a q8_0 tensor of @w dequantizes to (ggml's dequantize_row_q8_0)."""
    blocks = q8_0(np.ascontiguousarray(w, F).ravel())
    d = blocks[:, :2].copy().view("<f2").astype(F)
    q = blocks[:, 2:].view(np.int8).astype(F)
    return (q * d).reshape(w.shape)


def pack_values(w, groups=1):
    """The values our INT8 packing of @w [out, in] stands for (q * scale),
    emulating tile_weights.c's pack_block in float32."""
    out, k = w.shape
    kg = k // groups
    blk = min(KBLOCK, kg)
    if kg % blk:   # a short last block (conv1: 240 inputs): zeros change no scale
        assert groups == 1
        pad = np.zeros((out, blk - kg % blk), F)
        return pack_values(np.concatenate([w, pad], axis=1))[:, :k]
    b = np.ascontiguousarray(w, F).reshape(out, k // blk, blk)
    mx = np.abs(b).max(axis=2, keepdims=True)
    best_err = np.full(mx.shape, -1.0)
    best = np.zeros(mx.shape, F)
    for st in range(CLIP_STEPS):
        s = (mx * (F(1.0) - F(0.04) * F(st)) / F(127.0)).astype(F)
        with np.errstate(divide="ignore"):
            inv = np.where(s > 0, F(1.0) / s, F(0)).astype(F)
        q = np.clip(np.rint(b * inv), -127, 127)
        err = ((b.astype(np.float64) - q * s) ** 2).sum(axis=2, keepdims=True)
        take = (s > 0) & ((best_err < 0) | (err < best_err))
        best_err = np.where(take, err, best_err)
        best = np.where(take, s, best)
    with np.errstate(divide="ignore"):
        inv = np.where(best > 0, F(1.0) / best, F(0)).astype(F)
    q = np.clip(np.rint(b * inv), -127, 127)
    return (q * best).astype(F).reshape(out, k)


def packed_layers(v):
    """(name, [out, in] float32 weight, groups) of every layer we pack, as
    model_pack.c; the conv weights are 3-D and stay f16 in a q8_0 file."""
    n_enc, n_dec = n_layers(v, "encoder/layer_"), n_layers(v, "decoder/layer_")
    heads = int(v["encoder/num_heads"])
    for c in ("conv1", "conv2"):
        w = weight(v, "encoder/%s/weight" % c)
        yield "encoder/" + c, w.reshape(w.shape[0], -1), 1
    for l in range(n_enc):
        p = "encoder/layer_%d/" % l
        yield p + "qkv", weight(v, p + "self_attention/linear_0/weight"), 1
        yield p + "attn_out", weight(v, p + "self_attention/linear_1/weight"), heads
        yield p + "fc1", weight(v, p + "ffn/linear_0/weight"), 1
        yield p + "fc2", weight(v, p + "ffn/linear_1/weight"), heads
    for l in range(n_dec):
        p = "decoder/layer_%d/" % l
        for n in ("self_attention/linear_0", "self_attention/linear_1", "attention/linear_0",
                  "attention/linear_1", "attention/linear_2", "ffn/linear_0", "ffn/linear_1"):
            yield p + n, weight(v, p + n + "/weight"), 1


def measure_set(layers, rng):
    """Relative RMS errors, weights and W x, summed over @layers."""
    acc = {k: [0.0, 0.0] for k in ("file", "ours(q8)", "ours(f16)", "q8->ours")}
    out = {k: [0.0, 0.0] for k in acc}
    for name, w, groups in layers:
        w = w.astype(F)
        # ggml's quantize leaves the (3-D) conv weights as they are
        q8 = w if name.endswith(("conv1", "conv2")) else q8_0_values(w)
        pq8 = pack_values(q8, groups)
        pf16 = pack_values(w, groups)
        x = rng.standard_normal((w.shape[1], 64)).astype(F)
        y = w.astype(np.float64) @ x
        for key, got, ref, yref in (("file", q8, w, y), ("ours(q8)", pq8, w, y),
                                    ("ours(f16)", pf16, w, y),
                                    ("q8->ours", pq8, q8, q8.astype(np.float64) @ x)):
            acc[key][0] += float(((got.astype(np.float64) - ref) ** 2).sum())
            acc[key][1] += float((ref.astype(np.float64) ** 2).sum())
            out[key][0] += float(((got.astype(np.float64) @ x - yref) ** 2).sum())
            out[key][1] += float((yref ** 2).sum())
    return {k: (np.sqrt(acc[k][0] / acc[k][1]), np.sqrt(out[k][0] / out[k][1])) for k in acc}


def measure(model_dir):
    v = read_ct2(os.path.join(model_dir, "model.bin"))
    rng = np.random.default_rng(3)
    layers = measure_set(packed_layers(v), rng)
    emb = measure_set([("decoder/embeddings", weight(v, "decoder/embeddings/weight"), 1)], rng)
    print("%s: relative RMS error" % model_dir)
    print("  %-10s %12s %12s %14s %14s" % ("", "layers: W", "W x", "embedding: W", "W x"))
    for k in layers:
        print("  %-10s %12.5f %12.5f %14.5f %14.5f" % ((k,) + layers[k] + emb[k]))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for d in sys.argv[1:]:
        measure(d)


if __name__ == "__main__":
    main()
