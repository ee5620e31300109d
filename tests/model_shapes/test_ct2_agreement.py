# SPDX-License-Identifier: MIT
"""CTranslate2 (ctranslate2.models.Whisper, float32) reads the CTranslate2
files of every shape family, and its encoder output, greedy tokens and the
log-probabilities behind them agree with ours on the same log-mel window.

Bounds: encoder max |ours - CT2| / max |CT2| <= 1e-4 (measured: a few 1e-6),
decoder log-probabilities max abs difference <= 1e-3 (measured: about 1e-5),
and the same greedy tokens up to CT2's end of text."""
import os

import numpy as np
import pytest

from conftest import FAMILIES, GREEDY_STEPS, family_info, mel_input

ctranslate2 = pytest.importorskip("ctranslate2")

ENC_REL = 1e-4
LOGPROB_ABS = 1e-3


def log_softmax(x):
    x = np.asarray(x, np.float64).ravel()
    m = x.max()
    return x - m - np.log(np.exp(x - m).sum())


@pytest.mark.parametrize("name", FAMILIES)
def test_ctranslate2_agrees(families_dir, probe, name):
    fam = family_info(families_dir, name)
    hp = fam["hparams"]
    model = ctranslate2.models.Whisper(os.path.join(families_dir, name, "ct2"), device="cpu",
                                       compute_type="float32", intra_threads=2)
    assert model.n_mels == hp["n_mels"]
    assert model.is_multilingual == (hp["n_vocab"] >= 51865)
    if model.is_multilingual:
        assert model.num_languages == fam["specials"]["n_langs"]
    ours = probe.get(name, "ct2")
    mel = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel_input(hp["n_mels"])[None]))
    enc = np.array(model.encode(mel, to_cpu=True), dtype=np.float32)[0]
    rel = np.abs(ours["enc"] - enc).max() / np.abs(enc).max()
    print("%s: encoder max diff / max %.3g" % (name, rel))
    assert rel <= ENC_REL
    # CT2 decodes from its encoder output, we from ours (the probe's).
    # CT2 generates at most max_length / 2 tokens for Whisper (openai's
    # sample_len = n_text_ctx // 2), whatever the prompt's length.
    res = model.generate(ctranslate2.StorageView.from_array(enc[None]), [ours["prompt"]],
                         beam_size=1, max_length=2 * GREEDY_STEPS,
                         suppress_blank=False, suppress_tokens=[], return_logits_vocab=True)
    toks = res[0].sequences_ids[0]
    n = len(toks)
    assert toks == ours["greedy"][:n]
    assert n == GREEDY_STEPS or ours["greedy"][n] == fam["specials"]["eot"]
    worst = max(np.abs(log_softmax(np.array(l)) - ours["logprobs"][i]).max()
                for i, l in enumerate(res[0].logits[0][:n]))
    print("%s: %d tokens equal, log-prob max diff %.3g" % (name, n, worst))
    assert worst <= LOGPROB_ABS
