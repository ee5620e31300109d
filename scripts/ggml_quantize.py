#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
scripts/ggml_quantize.py - write a quantized whisper.cpp ggml file from an
f16 (or f32) one, in ggml's block formats, as whisper.cpp's `quantize`
does: q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k.

Usage: scripts/ggml_quantize.py IN.bin OUT.bin TYPE [--skip-partial]

--skip-partial leaves a tensor that is not a whole number of blocks as it
is (f16/f32) instead of failing: for the toy models of the tests and fuzz
seeds (fuzz/seeds/toy_q8_0.ggml, toy_q4_1.ggml, made from toy.ggml), whose
tensors are smaller than a block; real Whisper sizes never need it.

Which tensors: every 2-D tensor except the conv biases (stored [n, 1]) and
the positional embeddings, as whisper.cpp's examples/quantize does; 1-D
and 3-D tensors (layer norms, biases, the conv weights) are copied as they
are. The header's ftype becomes GGML_FTYPE + 1000 x 2 (quantization
version 2). A tensor is quantized as one flat run of blocks (ggml's
quantize_row_*_ref over all its rows at once), so a k-quant tensor whose
rows are not a whole number of 256-value blocks (every tensor of tiny,
whose width is 384) still has whole blocks; whisper.cpp's own loader
refuses such files, ours reads them.

The arithmetic is ggml's reference quantizers' (ggml-quants.c,
quantize_row_*_ref, the path `quantize` takes without an importance
matrix), step for step in float32 with the same order of operations and
the same rounding (roundf, nearest_int, the truncating casts), vectorized
over blocks; the search loops (make_qkx2_quants, make_q3_quants,
make_qx_quants) are run element by element in C's order so that every sum
rounds as it does there.

Checked once, byte for byte, against whisper.cpp's `whisper-quantize`
(built from /work/peer/whisper.cpp, ggml 0.21.0, -O3 without -march=native,
so no FMA contraction), on tiny.en converted by scripts/ct2_to_ggml.py
(77.7 MB f16), on 3 December 2026: all ten types are identical byte for
byte, the whole file (`cmp`): q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k,
q4_k, q5_k and q6_k. (whisper.cpp's loader then refuses its own k-quant
tiny files: "tensor 'encoder.blocks.0.attn.query.weight' has wrong size";
see above.) Also identical on base (multilingual, d = 512, whose rows are
whole 256-value blocks) for q5_0 and q4_k, and whisper.cpp and amanuensis
both transcribe jfk.wav right from that q4_k file. Time on the shared
2-core machine: 1.5-2 s for the 32-value
types, 11-54 s for the k-quants (q4_k the slowest).
"""
import argparse
import struct
import sys

import numpy as np

F = np.float32
GGML_QNT_VERSION = 2
GROUP_MAX_EPS = F(1e-15)

# name: (ggml tensor type id, GGML_FTYPE, block elements, block bytes)
TYPES = {
    "q4_0": (2, 2, 32, 18),
    "q4_1": (3, 3, 32, 20),
    "q5_0": (6, 8, 32, 22),
    "q5_1": (7, 9, 32, 24),
    "q8_0": (8, 7, 32, 34),
    "q2_k": (10, 10, 256, 84),
    "q3_k": (11, 11, 256, 110),
    "q4_k": (12, 12, 256, 144),
    "q5_k": (13, 13, 256, 176),
    "q6_k": (14, 14, 256, 210),
}

SKIP = {"encoder.conv1.bias", "encoder.conv2.bias",
        "encoder.positional_embedding", "decoder.positional_embedding"}


# ---------------------------------------------------------------- helpers

def f16_bytes(v):
    """float32 array -> little-endian IEEE half bytes, one column of 2 per value."""
    return np.ascontiguousarray(v.astype(np.float32).astype("<f2")).view(np.uint8).reshape(-1, 2)


def f16_round(v):
    """What GGML_FP16_TO_FP32(GGML_FP32_TO_FP16(v)) gives, as float32."""
    return v.astype(np.float32).astype(np.float16).astype(np.float32)


def nearest_int(v):
    """ggml's nearest_int: round half to even (float32 + 1.5*2^23)."""
    return np.rint(v.astype(np.float32)).astype(np.int32)


def roundf(v):
    """C roundf: half away from zero (exact in float64)."""
    a = np.floor(np.abs(v.astype(np.float64)) + 0.5)
    return (np.sign(v) * a).astype(np.int32)


def trunc_int(v):
    """C's float -> integer conversion: toward zero."""
    return np.trunc(v.astype(np.float32)).astype(np.int32)


def seqsum(a):
    """Sum of each row of a float32 (blocks, n) array in C's order, ((0 + a0) + a1) + ...:
    np.cumsum accumulates one element after the other (not pairwise); + 0 turns
    an all-(-0.0) sum into +0.0 as C's start from 0.0f does."""
    return np.cumsum(a, axis=1, dtype=np.float32)[:, -1] + F(0)


def inv_or_zero(d):
    out = np.zeros_like(d)
    nz = d != 0
    out[nz] = F(1.0) / d[nz]
    return out


def first_absmax(x):
    """amax and the signed value where |x| first reaches it (strict '<' scan)."""
    idx = np.argmax(np.abs(x), axis=1)
    mx = x[np.arange(x.shape[0]), idx]
    mx = np.where(mx == 0, F(0), mx)    # C starts from +0.0 and keeps it
    return np.abs(mx), mx


# ---------------------------------------------------------------- 32-blocks

def q4_0(x):
    x = x.reshape(-1, 32)
    _, mx = first_absmax(x)
    d = mx / F(-8)
    idv = inv_or_zero(d)[:, None]
    q = np.minimum(15, trunc_int(x * idv + F(8.5)))
    qs = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    return np.concatenate([f16_bytes(d), qs], axis=1)


def q4_1(x):
    x = x.reshape(-1, 32)
    mn, mx = x.min(axis=1), x.max(axis=1)
    d = (mx - mn) / F(15)
    idv = inv_or_zero(d)[:, None]
    q = np.minimum(15, trunc_int((x - mn[:, None]) * idv + F(0.5)))
    qs = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    return np.concatenate([f16_bytes(d), f16_bytes(mn), qs], axis=1)


def q5_pack(q):
    qs = ((q[:, :16] & 15) | ((q[:, 16:] & 15) << 4)).astype(np.uint8)
    hi = ((q >> 4) & 1).astype(np.uint64)
    qh = np.zeros(q.shape[0], dtype=np.uint64)
    for j in range(32):
        qh |= hi[:, j] << np.uint64(j)
    qh = qh.astype("<u4").view(np.uint8).reshape(-1, 4)
    return qh, qs


def q5_0(x):
    x = x.reshape(-1, 32)
    _, mx = first_absmax(x)
    d = mx / F(-16)
    idv = inv_or_zero(d)[:, None]
    q = np.minimum(31, trunc_int(x * idv + F(16.5)))
    qh, qs = q5_pack(q)
    return np.concatenate([f16_bytes(d), qh, qs], axis=1)


def q5_1(x):
    x = x.reshape(-1, 32)
    mn, mx = x.min(axis=1), x.max(axis=1)
    d = (mx - mn) / F(31)
    idv = inv_or_zero(d)[:, None]
    q = trunc_int((x - mn[:, None]) * idv + F(0.5)) & 0xff
    qh, qs = q5_pack(q)
    return np.concatenate([f16_bytes(d), f16_bytes(mn), qh, qs], axis=1)


def q8_0(x):
    x = x.reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = amax / F(127)
    idv = inv_or_zero(d)[:, None]
    q = roundf(x * idv).astype(np.int8).view(np.uint8)
    return np.concatenate([f16_bytes(d), q], axis=1)


# ---------------------------------------------------------------- k-quant searches

def make_qkx2_quants(x, w, nmax, rmin, rdelta, nstep, use_mad):
    """ggml's make_qkx2_quants over rows of x (blocks, n): (scale, the_min, L)."""
    B, n = x.shape
    mn = x.min(axis=1)
    mx = x.max(axis=1)
    # C starts these two sums from the first element, not from 0
    sum_w = np.cumsum(w, axis=1, dtype=np.float32)[:, -1]
    wx = w * x
    wx[:, 0] = w[:, 0] * x[:, 0]
    sum_x = np.cumsum(wx, axis=1, dtype=np.float32)[:, -1]
    mn = np.where(mn > 0, F(0), mn)
    flat = mx == mn
    rng = np.where(flat, F(1), mx - mn)
    iscale = F(nmax) / rng
    scale = F(1) / iscale
    L = np.clip(nearest_int(iscale[:, None] * (x - mn[:, None])), 0, nmax)
    diff = scale[:, None] * L.astype(F) + mn[:, None] - x
    diff = np.abs(diff) if use_mad else diff * diff
    best = seqsum(w * diff)
    for s in range(nstep + 1):
        # C updates min as it goes, and the next step's range with it
        rng = np.where(flat, F(1), mx - mn)
        iscale = (F(rmin) + F(rdelta) * F(s) + F(nmax)) / rng
        La = np.clip(nearest_int(iscale[:, None] * (x - mn[:, None])), 0, nmax)
        Lf = La.astype(F)
        wl = w * Lf
        sl = seqsum(wl)
        sl2 = seqsum(wl * Lf)
        sxl = seqsum(wl * x)
        D = sum_w * sl2 - sl * sl
        ok = D > 0
        Ds = np.where(ok, D, F(1))
        ts = (sum_w * sxl - sum_x * sl) / Ds
        tm = (sl2 * sum_x - sl * sxl) / Ds
        pos = tm > 0
        tm = np.where(pos, F(0), tm)
        ts = np.where(pos, sxl / np.where(sl2 != 0, sl2, F(1)), ts)
        diff = ts[:, None] * Lf + tm[:, None] - x
        diff = np.abs(diff) if use_mad else diff * diff
        cur = seqsum(w * diff)
        take = ok & (cur < best) & ~flat
        L = np.where(take[:, None], La, L)
        best = np.where(take, cur, best)
        scale = np.where(take, ts, scale)
        mn = np.where(take, tm, mn)
    L = np.where(flat[:, None], 0, L)
    scale = np.where(flat, F(0), scale)
    return scale, -mn, L


def absmax_signed(x):
    """max |x| and the signed value where it is first reached (strict '>' scan)."""
    return first_absmax(x)


def make_qx_quants_rmse1(x, nmax):
    """ggml's make_qx_quants(n, nmax, x, L, rmse_type=1, qw=NULL): (scale, L)."""
    B, n = x.shape
    amax, mx = absmax_signed(x)
    zero = amax < GROUP_MAX_EPS
    mxs = np.where(zero, F(1), mx)
    wgt = x * x

    def pass_(iscale):
        l = np.clip(nearest_int(iscale[:, None] * x), -nmax, nmax - 1)
        lf = l.astype(F)
        return l, seqsum(wgt * x * lf), seqsum(wgt * lf * lf)

    iscale = F(-nmax) / mxs
    l, slx, sl2 = pass_(iscale)
    L = l + nmax
    scale = np.where(sl2 != 0, slx / np.where(sl2 != 0, sl2, F(1)), F(0))
    best = scale * slx
    for s in range(-9, 10):
        if s == 0:
            continue
        iscale = -(F(nmax) + F(0.1) * F(s)) / mxs
        l, slx, sl2 = pass_(iscale)
        take = (sl2 > 0) & (slx * slx > best * sl2)
        L = np.where(take[:, None], l + nmax, L)
        scale = np.where(take, slx / np.where(sl2 > 0, sl2, F(1)), scale)
        best = np.where(take, scale * slx, best)
    L = np.where(zero[:, None], 0, L)
    scale = np.where(zero, F(0), scale)
    return scale, L


def make_q3_quants_rmse(x, nmax):
    """ggml's make_q3_quants(n, nmax, x, L, do_rmse=true): (scale, L)."""
    B, n = x.shape
    amax, mx = absmax_signed(x)
    zero = amax < GROUP_MAX_EPS
    mxs = np.where(zero, F(1), mx)
    iscale = F(-nmax) / mxs
    L = np.clip(nearest_int(iscale[:, None] * x), -nmax, nmax - 1)
    wgt = x * x
    Lf = L.astype(F)
    sumlx = seqsum(wgt * x * Lf)
    suml2 = seqsum(wgt * Lf * Lf)
    for _ in range(5):
        for i in range(n):
            w = wgt[:, i]
            xi = x[:, i]
            li = L[:, i].astype(F)
            slx = sumlx - w * xi * li
            cand = slx > 0
            sl2 = suml2 - w * li * li
            nl = np.clip(nearest_int(xi * sl2 / np.where(cand, slx, F(1))), -nmax, nmax - 1)
            nlf = nl.astype(F)
            cand &= nl != L[:, i]
            slx2 = slx + w * xi * nlf
            sl22 = sl2 + w * nlf * nlf
            take = cand & (sl22 > 0) & (slx2 * slx2 * suml2 > sumlx * sumlx * sl22)
            L[:, i] = np.where(take, nl, L[:, i])
            sumlx = np.where(take, slx2, sumlx)
            suml2 = np.where(take, sl22, suml2)
    scale = np.where(suml2 > 0, sumlx / np.where(suml2 > 0, suml2, F(1)), F(0))
    L = np.where(zero[:, None], 0, L + nmax)
    scale = np.where(zero, F(0), scale)
    return scale, L


def pack_2bit(L):
    """(blocks, 256) values 0..3 -> (blocks, 64) bytes, ggml's q2_K/q3_K order."""
    out = []
    for j in (0, 128):
        b = (L[:, j:j + 32] | (L[:, j + 32:j + 64] << 2) | (L[:, j + 64:j + 96] << 4) |
             (L[:, j + 96:j + 128] << 6))
        out.append(b)
    return np.concatenate(out, axis=1).astype(np.uint8)


# ---------------------------------------------------------------- k-quants

def q2_k(x):
    xb = x.reshape(-1, 256)
    nb = xb.shape[0]
    xs = xb.reshape(-1, 16)
    sc, mn, L = make_qkx2_quants(xs, np.abs(xs), 3, -0.5, 0.1, 15, True)
    sc = sc.reshape(nb, 16)
    mn = mn.reshape(nb, 16)
    L = L.reshape(nb, 256)
    max_scale = np.maximum(sc.max(axis=1), F(0))
    max_min = np.maximum(mn.max(axis=1), F(0))
    scales = np.zeros((nb, 16), dtype=np.int64)
    hs = max_scale > 0
    iscale = F(15) / np.where(hs, max_scale, F(1))
    scales = np.where(hs[:, None], nearest_int(iscale[:, None] * sc) & 0xff, 0)
    d = np.where(hs, max_scale / F(15), F(0))
    hm = max_min > 0
    imin = F(15) / np.where(hm, max_min, F(1))
    scales = np.where(hm[:, None], (scales | (nearest_int(imin[:, None] * mn) << 4)) & 0xff, scales)
    dmin = np.where(hm, max_min / F(15), F(0))
    dq = f16_round(d)[:, None] * (scales & 0xf).astype(F)
    dmq = f16_round(dmin)[:, None] * (scales >> 4).astype(F)
    xr = xb.reshape(nb, 16, 16)
    dq3 = dq[:, :, None]
    l = np.clip(nearest_int((xr + dmq[:, :, None]) / np.where(dq3 != 0, dq3, F(1))), 0, 3)
    L = np.where(dq3 != 0, l, L.reshape(nb, 16, 16)).reshape(nb, 256)
    return np.concatenate([scales.astype(np.uint8), pack_2bit(L), f16_bytes(d), f16_bytes(dmin)],
                          axis=1)


def q3_k(x):
    xb = x.reshape(-1, 256)
    nb = xb.shape[0]
    sc, L = make_q3_quants_rmse(xb.reshape(-1, 16), 4)
    sc = sc.reshape(nb, 16)
    L = L.reshape(nb, 256)
    amax, max_scale = absmax_signed(sc)
    has = max_scale != 0
    iscale = F(-32) / np.where(has, max_scale, F(1))
    ls = np.clip(nearest_int(iscale[:, None] * sc), -32, 31) + 32
    ls = np.where(has[:, None], ls, 0)
    sb = np.zeros((nb, 12), dtype=np.int64)
    sb[:, 0:8] = ls[:, 0:8] & 0xf
    sb[:, 0:8] |= (ls[:, 8:16] & 0xf) << 4
    for j in range(16):
        sb[:, 8 + j % 4] |= (ls[:, j] >> 4) << (2 * (j // 4))
    sb = np.where(has[:, None], sb, 0)
    d = np.where(has, F(1) / iscale, F(0))
    scd = ls - 32
    dq = f16_round(d)[:, None] * scd.astype(F)
    dq3 = dq[:, :, None]
    xr = xb.reshape(nb, 16, 16)
    l = np.clip(nearest_int(xr / np.where(dq3 != 0, dq3, F(1))), -4, 3) + 4
    L = np.where(dq3 != 0, l, L.reshape(nb, 16, 16)).reshape(nb, 256)
    hmask = np.zeros((nb, 32), dtype=np.int64)
    for j in range(8):
        hi = L[:, 32 * j:32 * j + 32] > 3
        hmask |= hi.astype(np.int64) << j
        L[:, 32 * j:32 * j + 32] -= 4 * hi
    return np.concatenate([hmask.astype(np.uint8), pack_2bit(L), sb.astype(np.uint8), f16_bytes(d)],
                          axis=1)


def k4_scales(ls, lm):
    """8 six-bit scales and mins -> ggml's 12 bytes (q4_K, q5_K)."""
    nb = ls.shape[0]
    s = np.zeros((nb, 12), dtype=np.int64)
    s[:, 0:4] = ls[:, 0:4]
    s[:, 4:8] = lm[:, 0:4]
    s[:, 8:12] = (ls[:, 4:8] & 0xf) | ((lm[:, 4:8] & 0xf) << 4)
    s[:, 0:4] |= (ls[:, 4:8] >> 4) << 6
    s[:, 4:8] |= (lm[:, 4:8] >> 4) << 6
    return s.astype(np.uint8)


def q45_k(x, nmax, rmin, nstep):
    xb = x.reshape(-1, 256)
    nb = xb.shape[0]
    xs = xb.reshape(-1, 32)
    av = np.sqrt(seqsum(xs * xs) / F(32))
    w = av[:, None] + np.abs(xs)
    sc, mn, L = make_qkx2_quants(xs, w, nmax, rmin, 0.1, nstep, False)
    sc = sc.reshape(nb, 8)
    mn = mn.reshape(nb, 8)
    max_scale = np.maximum(sc.max(axis=1), F(0))
    max_min = np.maximum(mn.max(axis=1), F(0))
    inv_s = np.where(max_scale > 0, F(63) / np.where(max_scale > 0, max_scale, F(1)), F(0))
    inv_m = np.where(max_min > 0, F(63) / np.where(max_min > 0, max_min, F(1)), F(0))
    ls = np.minimum(63, nearest_int(inv_s[:, None] * sc) & 0xff)
    lm = np.minimum(63, nearest_int(inv_m[:, None] * mn) & 0xff)
    d = max_scale / F(63)
    dmin = max_min / F(63)
    dq = f16_round(d)[:, None] * ls.astype(F)
    dmq = f16_round(dmin)[:, None] * lm.astype(F)
    dq3 = dq[:, :, None]
    xr = xb.reshape(nb, 8, 32)
    l = np.clip(nearest_int((xr + dmq[:, :, None]) / np.where(dq3 != 0, dq3, F(1))), 0, nmax)
    L = np.where(dq3 != 0, l, L.reshape(nb, 8, 32)).reshape(nb, 256)
    return d, dmin, k4_scales(ls, lm), L


def q4_k(x):
    d, dmin, s, L = q45_k(x, 15, -1.0, 20)
    qs = np.concatenate([L[:, j:j + 32] | (L[:, j + 32:j + 64] << 4) for j in range(0, 256, 64)],
                        axis=1).astype(np.uint8)
    return np.concatenate([f16_bytes(d), f16_bytes(dmin), s, qs], axis=1)


def q5_k(x):
    d, dmin, s, L = q45_k(x, 31, -0.5, 15)
    nb = L.shape[0]
    qh = np.zeros((nb, 32), dtype=np.int64)
    ql = []
    for k, n in enumerate(range(0, 256, 64)):
        l1 = L[:, n:n + 32]
        l2 = L[:, n + 32:n + 64]
        qh |= (l1 > 15).astype(np.int64) << (2 * k)
        qh |= (l2 > 15).astype(np.int64) << (2 * k + 1)
        ql.append((l1 & 15) | ((l2 & 15) << 4))
    return np.concatenate([f16_bytes(d), f16_bytes(dmin), s, qh.astype(np.uint8),
                           np.concatenate(ql, axis=1).astype(np.uint8)], axis=1)


def q6_k(x):
    xb = x.reshape(-1, 256)
    nb = xb.shape[0]
    sc, L = make_qx_quants_rmse1(xb.reshape(-1, 16), 32)
    sc = sc.reshape(nb, 16)
    L = L.reshape(nb, 256)
    amax, max_scale = absmax_signed(sc)
    zero = amax < GROUP_MAX_EPS
    iscale = F(-128) / np.where(zero, F(1), max_scale)
    d = np.where(zero, F(0), F(1) / iscale)
    scs = np.minimum(127, nearest_int(iscale[:, None] * sc))
    scs = np.where(zero[:, None], 0, scs)
    dq = f16_round(d)[:, None] * scs.astype(F)
    dq3 = dq[:, :, None]
    xr = xb.reshape(nb, 16, 16)
    l = np.clip(nearest_int(xr / np.where(dq3 != 0, dq3, F(1))), -32, 31) + 32
    L = np.where(dq3 != 0, l, L.reshape(nb, 16, 16)).reshape(nb, 256)
    L = np.where(zero[:, None], 0, L)
    ql, qh = [], []
    for j in (0, 128):
        q1, q2 = L[:, j:j + 32], L[:, j + 32:j + 64]
        q3, q4 = L[:, j + 64:j + 96], L[:, j + 96:j + 128]
        ql.append((q1 & 15) | ((q3 & 15) << 4))
        ql.append((q2 & 15) | ((q4 & 15) << 4))
        qh.append((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6))
    return np.concatenate([np.concatenate(ql, axis=1).astype(np.uint8),
                           np.concatenate(qh, axis=1).astype(np.uint8),
                           scs.astype(np.int8).view(np.uint8), f16_bytes(d)], axis=1)


QUANTIZERS = {"q4_0": q4_0, "q4_1": q4_1, "q5_0": q5_0, "q5_1": q5_1, "q8_0": q8_0,
              "q2_k": q2_k, "q3_k": q3_k, "q4_k": q4_k, "q5_k": q5_k, "q6_k": q6_k}


# ---------------------------------------------------------------- the file

def quantize_file(src, dst, qtype, skip_partial=False, log=sys.stderr):
    tid, ftype, blk, bsize = TYPES[qtype]
    buf = open(src, "rb").read()
    pos = 0

    def i32():
        nonlocal pos
        if pos + 4 > len(buf):
            raise ValueError(f"{src}: truncated at byte {pos}")
        v = struct.unpack_from("<i", buf, pos)[0]
        pos += 4
        return v

    if i32() != 0x67676d6c:
        raise ValueError(f"{src}: not a ggml file")
    hp = [i32() for _ in range(11)]
    if hp[10] % 1000 not in (0, 1):
        raise ValueError(f"{src}: ftype {hp[10]}: already quantized (need f32 or f16)")
    n_mel, n_fft = i32(), i32()
    pos += 4 * n_mel * n_fft
    n_vocab = i32()
    for _ in range(n_vocab):
        pos += 4 + i32()
    out = bytearray(struct.pack("<i", 0x67676d6c))
    out += struct.pack("<11i", *hp[:10], GGML_QNT_VERSION * 1000 + ftype)
    out += buf[48:pos]
    nq = 0
    while pos < len(buf):
        nd, nl, ty = i32(), i32(), i32()
        ne = [i32() for _ in range(nd)]
        name = buf[pos:pos + nl].decode()
        pos += nl
        numel = int(np.prod(ne))
        if ty not in (0, 1):
            raise ValueError(f"{src}: tensor {name}: type {ty} (need f32 or f16)")
        nbytes = numel * (4 if ty == 0 else 2)
        data = buf[pos:pos + nbytes]
        if len(data) != nbytes:
            raise ValueError(f"{src}: tensor {name}: truncated")
        pos += nbytes
        if nd == 2 and name not in SKIP and not (skip_partial and numel % blk):
            if numel % blk:
                raise ValueError(f"{src}: tensor {name}: {numel} values are not whole {qtype} blocks")
            x = np.frombuffer(data, dtype="<f4" if ty == 0 else "<f2").astype(np.float32)
            q = QUANTIZERS[qtype](x)
            assert q.shape == (numel // blk, bsize), (name, q.shape)
            out += struct.pack("<3i", nd, nl, tid) + struct.pack(f"<{nd}i", *ne) + name.encode()
            out += q.tobytes()
            nq += 1
        else:
            out += struct.pack("<3i", nd, nl, ty) + struct.pack(f"<{nd}i", *ne) + name.encode()
            out += data
    with open(dst, "wb") as f:
        f.write(out)
    print(f"ggml_quantize: {dst}: {qtype}, {nq} tensors quantized, {len(out)} bytes", file=log)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("type", choices=sorted(TYPES))
    ap.add_argument("--skip-partial", action="store_true",
                    help="leave tensors that are not whole blocks as they are (toy models)")
    a = ap.parse_args()
    try:
        quantize_file(a.src, a.dst, a.type, a.skip_partial)
    except ValueError as e:
        print(f"ggml_quantize: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
