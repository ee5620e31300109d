# SPDX-License-Identifier: MIT
"""What the accuracy suites share: where the build, the models and the
speech set are, and a fixture that skips a suite whose inputs are missing
(../shared/speech, models/tiny.en, faster-whisper, jiwer)."""
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
SPEECH = os.environ.get("AMN_SHARED_SPEECH", os.path.join(ROOT, "..", "shared", "speech"))
MODELS = os.path.join(ROOT, "models")


@pytest.fixture(scope="module")
def speech_inputs():
    """Skip unless the speech set, tiny.en and the Python peers are there."""
    if not os.path.exists(os.path.join(SPEECH, "manifest.tsv")):
        pytest.skip("../shared/speech is not there")
    if not os.path.exists(os.path.join(MODELS, "tiny.en", "model.bin")):
        pytest.skip("models/tiny.en missing")
    pytest.importorskip("faster_whisper")
    pytest.importorskip("jiwer")
