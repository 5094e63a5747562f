#!/usr/bin/env bash
# The main job, on media the project generates itself (no ../shared needed).
set -euo pipefail
cd "$(dirname "$0")/.."
RS=.venv/bin/reelscore
DEMO=${DEMO_DIR:-$HOME/.cache/reelscore/demo}
mkdir -p "$DEMO"
$RS make-test-media "$DEMO/media"
$RS score "$DEMO/media" --json | tee "$DEMO/scores.jsonl"
