#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Convert faster-whisper's Silero VAD v6 ONNX file into amanuensis's own
VAD weights file (models/silero_vad_v6.amnv), read by whisper/vad/vad_weights.c.

The file (all little-endian; Documentation/vad.md):

  offset 0   char magic[4]   "AMNV"
  offset 4   u32  version     1
  offset 8   u32  n_tensors
  offset 12  u32  reserved    0
  offset 16  n_tensors entries of 64 bytes:
               char name[40]  NUL-padded
               u32  ndim      1..4
               u32  dims[4]   unused dimensions are 1
               u32  offset    of the float32 data from the start of the file
  then the float32 data of each tensor, row-major, each 64-byte aligned.

Only the 16 kHz model is in the v6 file faster-whisper ships; the tensors are
renamed after what they do:

  stft.basis   [258, 256]      STFT as a convolution (129 real rows, 129 imaginary)
  enc0.weight  [128, 129, 3]   enc0.bias [128]
  enc1.weight  [64, 128, 3]    enc1.bias [64]
  enc2.weight  [64, 64, 3]     enc2.bias [64]
  enc3.weight  [128, 64, 3]    enc3.bias [128]
  lstm.w_ih    [512, 128]      gates i, o, f, c (ONNX order)
  lstm.w_hh    [512, 128]
  lstm.b_ih    [512]           lstm.b_hh [512]
  out.weight   [128]           out.bias [1]

Usage: silero_to_amn.py [--onnx PATH] OUT
"""
import argparse
import os
import struct
import sys

import numpy as np

MAGIC = b"AMNV"
VERSION = 1
ENTRY = 64
NAME_LEN = 40

# ours <- ONNX initializer name, expected shape after reshaping
TENSORS = [
    ("stft.basis", "encoder.feature_extractor.forward_basis_buffer", (258, 256)),
    ("enc0.weight", "encoder.conv_layers.0.weight", (128, 129, 3)),
    ("enc0.bias", "encoder.conv_layers.0.bias", (128,)),
    ("enc1.weight", "encoder.conv_layers.1.weight", (64, 128, 3)),
    ("enc1.bias", "encoder.conv_layers.1.bias", (64,)),
    ("enc2.weight", "encoder.conv_layers.2.weight", (64, 64, 3)),
    ("enc2.bias", "encoder.conv_layers.2.bias", (64,)),
    ("enc3.weight", "encoder.conv_layers.3.weight", (128, 64, 3)),
    ("enc3.bias", "encoder.conv_layers.3.bias", (128,)),
    ("lstm.w_ih", "LSTM:W", (512, 128)),
    ("lstm.w_hh", "LSTM:R", (512, 128)),
    ("lstm.b_ih", "LSTM:B0", (512,)),
    ("lstm.b_hh", "LSTM:B1", (512,)),
    ("out.weight", "decoder.conv1d.weight", (128,)),
    ("out.bias", "decoder.conv1d.bias", (1,)),
]


def default_onnx():
    from faster_whisper.utils import get_assets_path
    return os.path.join(get_assets_path(), "silero_vad_v6.onnx")


def read_onnx(path):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    g = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    lstm = [n for n in g.node if n.op_type == "LSTM"]
    if len(lstm) != 1:
        sys.exit(f"{path}: expected one LSTM node, found {len(lstm)}")
    node = lstm[0]
    for a in node.attribute:
        if a.name == "hidden_size" and a.i != 128:
            sys.exit(f"{path}: LSTM hidden_size {a.i}, expected 128")
        if a.name in ("direction", "activations", "clip", "input_forget"):
            sys.exit(f"{path}: LSTM attribute {a.name} is not supported")
    w, r, b = (init[node.input[k]] for k in (1, 2, 3))
    init["LSTM:W"] = w
    init["LSTM:R"] = r
    init["LSTM:B0"] = b.reshape(-1)[:512]
    init["LSTM:B1"] = b.reshape(-1)[512:]
    # the STFT: reflect padding of 128 each side, window 256, hop 128
    pads = [n for n in g.node if n.op_type == "Pad"]
    if len(pads) != 1 or list(init[pads[0].input[1]]) != [0, 128, 0, 128]:
        sys.exit(f"{path}: not the Silero v6 graph this converter knows (Pad)")
    return init


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--onnx", default=None, help="silero_vad_v6.onnx (default: faster-whisper's)")
    ap.add_argument("out")
    args = ap.parse_args()
    path = args.onnx or default_onnx()
    init = read_onnx(path)

    tensors = []
    for name, src, shape in TENSORS:
        if src not in init:
            sys.exit(f"{path}: no tensor {src}")
        a = np.ascontiguousarray(init[src], dtype="<f4")
        if a.size != int(np.prod(shape)):
            sys.exit(f"{path}: {src} has shape {a.shape}, expected {shape}")
        tensors.append((name, shape, a.reshape(shape)))

    head = 16 + ENTRY * len(tensors)
    off = (head + 63) // 64 * 64
    table = b""
    blobs = []
    for name, shape, a in tensors:
        dims = list(shape) + [1] * (4 - len(shape))
        table += struct.pack("<40sI4II", name.encode(), len(shape), *dims, off)
        data = a.tobytes()
        pad = (len(data) + 63) // 64 * 64 - len(data)
        blobs.append(data + b"\0" * pad)
        off += len(data) + pad

    tmp = args.out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<III", VERSION, len(tensors), 0))
        f.write(table)
        f.write(b"\0" * ((head + 63) // 64 * 64 - head))
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, args.out)
    print(f"silero_to_amn: {path} -> {args.out} ({len(tensors)} tensors, {off} bytes)")


if __name__ == "__main__":
    main()
