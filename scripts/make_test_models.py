#!/usr/bin/env python3
"""Write a toy Whisper model in CTranslate2 format (model.bin, version 6) with
random weights: the fuzzers' seed corpus and a quick loader smoke input.

usage: make_test_models.py OUT_FILE [f32|f16|i8]
"""
import struct
import sys

import numpy as np

MELS, D, HEADS, FFN, ACTX, TCTX, VOCAB, LAYERS = 4, 8, 2, 16, 6, 5, 11, 1
DT = {"f32": 0, "i8": 1, "f16": 4}


def s(name):
    b = name.encode() + b"\0"
    return struct.pack("<H", len(b)) + b


def var(name, arr, dt):
    out = [s(name), struct.pack("<B", arr.ndim)]
    out += [struct.pack("<I", d) for d in arr.shape]
    extra = []
    if arr.ndim >= 2 and dt == "i8":
        amax = np.abs(arr.reshape(arr.shape[0], -1)).max(axis=1) + 1e-6
        scale = (127.0 / amax).astype(np.float32)
        data = np.round(arr * scale.reshape((-1,) + (1,) * (arr.ndim - 1))).astype(np.int8)
        extra = [(name + "_scale", scale)]
        code = 1
    elif arr.ndim >= 2 and dt == "f16":
        data, code = arr.astype(np.float16), 4
    else:
        data, code = arr.astype(np.float32), 0
    raw = data.tobytes()
    out += [struct.pack("<B", code), struct.pack("<I", len(raw)), raw]
    blobs = [b"".join(out)]
    for n, a in extra:
        blobs.append(s(n) + struct.pack("<BIBI", 1, a.shape[0], 0, a.nbytes) + a.tobytes())
    return blobs


def main():
    out, dt = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "f16")
    rng = np.random.default_rng(1)
    r = lambda *shape: (rng.standard_normal(shape) * 0.2).astype(np.float32)
    vs = []
    lin = lambda p, o, i: [(p + "/bias", r(o)), (p + "/weight", r(o, i))]
    ln = lambda p: [(p + "/beta", r(D)), (p + "/gamma", r(D) + 1)]
    vs += [("encoder/conv1/bias", r(D)), ("encoder/conv1/weight", r(D, MELS, 3)),
           ("encoder/conv2/bias", r(D)), ("encoder/conv2/weight", r(D, D, 3)),
           ("encoder/position_encodings/encodings", r(ACTX, D))] + ln("encoder/layer_norm")
    for l in range(LAYERS):
        p = "encoder/layer_%d/" % l
        vs += ln(p + "self_attention/layer_norm") + lin(p + "self_attention/linear_0", 3 * D, D)
        vs += lin(p + "self_attention/linear_1", D, D) + ln(p + "ffn/layer_norm")
        vs += lin(p + "ffn/linear_0", FFN, D) + lin(p + "ffn/linear_1", D, FFN)
    vs += [("decoder/embeddings/weight", r(VOCAB, D)),
           ("decoder/position_encodings/encodings", r(TCTX, D))] + ln("decoder/layer_norm")
    for l in range(LAYERS):
        p = "decoder/layer_%d/" % l
        vs += ln(p + "self_attention/layer_norm") + lin(p + "self_attention/linear_0", 3 * D, D)
        vs += lin(p + "self_attention/linear_1", D, D) + ln(p + "attention/layer_norm")
        vs += lin(p + "attention/linear_0", D, D) + lin(p + "attention/linear_1", 2 * D, D)
        vs += lin(p + "attention/linear_2", D, D) + ln(p + "ffn/layer_norm")
        vs += lin(p + "ffn/linear_0", FFN, D) + lin(p + "ffn/linear_1", D, FFN)
    blobs = []
    for n, a in vs:
        blobs += var(n, a, dt)
    heads = [s(n) + struct.pack("<BBIh", 0, 2, 2, HEADS) for n in ("encoder/num_heads", "decoder/num_heads")]
    blobs += heads
    body = b"".join(blobs)
    alias = struct.pack("<I", 1) + s("decoder/projection/weight") + s("decoder/embeddings/weight")
    with open(out, "wb") as f:
        f.write(struct.pack("<I", 6) + s("WhisperSpec") + struct.pack("<II", 3, len(blobs)) + body + alias)


if __name__ == "__main__":
    main()
