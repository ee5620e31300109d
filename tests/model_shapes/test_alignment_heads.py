# SPDX-License-Identifier: MIT
"""The alignment heads our table (whisper/model/model_heads.c) gives a ggml
or Hugging Face model without a list, per family at its real dimensions,
against openai-whisper's published masks (_ALIGNMENT_HEADS in
whisper/__init__.py: base85 of a gzipped bool array, n_text_layer x
n_text_head). large-v1 and large-v2 share their dimensions, and the
distilled models have no published heads: those get every head of the
second half of the decoder layers, as CTranslate2's converter and
openai-whisper do for a model without a list."""
import base64
import gzip
import json
import subprocess

import numpy as np
import pytest

from conftest import PROBE, env_cpu

# openai-whisper's _ALIGNMENT_HEADS, as published
OPENAI = {
    "tiny.en": b"ABzY8J1N>@0{>%R00Bk>$p{7v037`oCl~+#00",
    "tiny": b"ABzY8bu8Lr0{>%RKn9Fp%m@SkK7Kt=7ytkO",
    "base.en": b"ABzY8;40c<0{>%RzzG;p*o+Vo09|#PsxSZm00",
    "base": b"ABzY8KQ!870{>%RzyTQH3`Q^yNP!>##QT-<FaQ7m",
    "small.en": b"ABzY8>?_)10{>%RpeA61k&I|OI3I$65C{;;pbCHh0B{qLQ;+}v00",
    "small": b"ABzY8DmU6=0{>%Rpa?J`kvJ6qF(V^F86#Xh7JUGMK}P<N0000",
    "medium.en": b"ABzY8usPae0{>%R7<zz_OvQ{)4kMa0BMw6u5rT}kRKX;$NfYBv00*Hl@qhsU00",
    "medium": b"ABzY8B0Jh+0{>%R7}kK1fFL7w6%<-Pf*t^=N)Qr&0RR9",
    "large-v3": b"ABzY8gWO1E0{>%R7(9S+Kn!D~%ngiGaR?*L!iJG9p-nab0JQ=-{D1-g00",
    "large-v3-turbo": b"ABzY8j^C+e0{>%RARaKHP%t(lGR*)0g!tONPyhe`",
}

# name: (n_text_layer, n_text_state, n_vocab, n_mels, n_text_head)
DIMS = {
    "tiny.en": (4, 384, 51864, 80, 6), "tiny": (4, 384, 51865, 80, 6),
    "base.en": (6, 512, 51864, 80, 8), "base": (6, 512, 51865, 80, 8),
    "small.en": (12, 768, 51864, 80, 12), "small": (12, 768, 51865, 80, 12),
    "medium.en": (24, 1024, 51864, 80, 16), "medium": (24, 1024, 51865, 80, 16),
    "large-v2": (32, 1280, 51865, 80, 20), "large-v3": (32, 1280, 51866, 128, 20),
    "large-v3-turbo": (4, 1280, 51866, 128, 20), "distil-large-v3": (2, 1280, 51866, 128, 20),
    "distil-large-v2": (2, 1280, 51865, 80, 20), "distil-small.en": (4, 768, 51864, 80, 12),
}


def ours(dims):
    p = subprocess.run([PROBE, "--heads"] + [str(x) for x in dims], capture_output=True,
                       text=True, env=env_cpu(), timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["alignment_heads"]


@pytest.mark.parametrize("name", sorted(DIMS))
def test_alignment_heads_by_dimensions(families_dir, name):
    layers, _, _, _, heads = DIMS[name]
    got = ours(DIMS[name])
    if name in OPENAI:
        mask = np.frombuffer(gzip.decompress(base64.b85decode(OPENAI[name])), dtype=bool)
        want = [[int(l), int(h)] for l, h in np.argwhere(mask.reshape(layers, heads))]
        assert got["source"] == name
    else:
        want = [[l, h] for l in range(layers // 2, layers) for h in range(heads)]
        assert got["source"] == "second half of the decoder layers"
    assert got["pairs"] == want
