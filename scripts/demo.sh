#!/usr/bin/env bash
# The main job, on media the project generates itself (no ../shared needed):
# make test clips, score them with the shipped default models, show that broken
# inputs get their media error while the rest of the batch goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
RS=.venv/bin/reelscore
DEMO=${DEMO_DIR:-$HOME/.cache/reelscore/demo}
mkdir -p "$DEMO"
$RS make-test-media "$DEMO/media"

# Real photos (scikit-image, public domain) panned into clips at rising compression:
# the quality model should rank them, the semantic classes should name what is in them.
M="$DEMO/media"
.venv/bin/python - "$M" <<'PY'
import sys
from reelscore.media.synth import make_photo_clip
for photo, crf in [("coffee", 18), ("coffee", 38), ("coffee", 51), ("chelsea", 20), ("rocket", 45)]:
    make_photo_clip(f"{sys.argv[1]}/photo_{photo}_crf{crf}.mp4", photo, crf=crf)
PY

# Titles and descriptions travel in a manifest, as a platform would pass them.
cat > "$DEMO/manifest.csv" <<CSV
video_id,path,title,description
portrait_h264,$M/portrait_h264.mp4,Skills for midfielders  football  soccer,Drag to heel | Subscribe for more
landscape_h264,$M/landscape_h264.mp4,What's said to the queen stays with the queen,royalcore  ballgown  victorian
hevc,$M/hevc.mp4,My morning routine  vlog,
vp9_webm,$M/vp9_webm.webm,,
rotated90,$M/rotated90.mp4,Filmed sideways  phone  fail,it rotates
video_only,$M/video_only.mp4,Silent clip  no sound,
coffee_crf18,$M/photo_coffee_crf18.mp4,Morning coffee art  latte,barista life
coffee_crf38,$M/photo_coffee_crf38.mp4,Morning coffee art  latte,barista life
coffee_crf51,$M/photo_coffee_crf51.mp4,Morning coffee art  latte,barista life
chelsea_crf20,$M/photo_chelsea_crf20.mp4,My cat judging me again  cats  funny,
rocket_crf45,$M/photo_rocket_crf45.mp4,Launch day!!  space  rocket,watch till the end
CSV
$RS score --manifest "$DEMO/manifest.csv" --json > "$DEMO/scores.jsonl"
echo "scores: $DEMO/scores.jsonl ($(wc -l < "$DEMO/scores.jsonl") videos)" >&2
.venv/bin/python - "$DEMO/scores.jsonl" <<'PY'
import json, sys
from rich.console import Console
from rich.table import Table
t = Table(title="reelscore score (shipped default models)")
for c in ("video", "ECR", "NAWP", "MOS", "top audio tag", "top semantic class"):
    t.add_column(c)
def num(s):
    return "–" if s.get("value") is None else f"{s['value']:.3f}"
def top(d):
    v = (d or {}).get("values") or []
    return v[0]["label"] if v else "–"
for line in open(sys.argv[1]):
    r = json.loads(line)
    s = r.get("scores", {})
    t.add_row(r["video_id"], num(s.get("ecr", {})), num(s.get("nawp", {})), num(s.get("mos", {})),
              top(r.get("audio_tags")), top(r.get("semantic_classes")))
Console().print(t)
PY

# Broken inputs: each gets its media error, the others are still scored; exit 1 says some failed.
set +e
$RS score "$M/truncated.mp4" "$M/notes.txt" "$M/portrait_h264.mp4" --title "one good clip among broken files" \
    --json --no-timeline > "$DEMO/with_broken.jsonl"
rc=$?
set -e
if [ "$rc" -ne 1 ]; then
    echo "demo: expected exit 1 (some inputs broken), got $rc" >&2
    exit 1
fi
echo "broken inputs reported in $DEMO/with_broken.jsonl (exit 1 as expected)" >&2
