"""Random KVQ processing plans: which workflow, enhancement, pre-processing and QP each version gets.

A plan is pure data (no ffmpeg call) so it is reproducible from (seed, source name)
and can be tested without encoding anything.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field

import numpy as np

# KVQ draws one QP from each of these six intervals (inclusive).
QP_INTERVALS: list[tuple[int, int]] = [(16, 23), (24, 31), (32, 35), (36, 39), (40, 43), (44, 47)]
WORKFLOWS: list[str] = ["transcode", "enhance+transcode", "enhance+preprocess+transcode"]
ENHANCEMENTS: list[str] = ["denoise", "deblur", "deartifact"]
PREPROCESSES: list[str] = ["lowpass", "roi"]
# Capture distortions a phone adds before the platform sees the clip (beyond KVQ's workflows).
CAPTURES: list[str] = ["defocus", "motion_blur", "noise", "underexposure", "overexposure", "downscale", "frame_drop"]
# Capture versions are transcoded at a QP from the first four KVQ intervals, so the
# capture distortion, not the encoder, dominates most of them.
CAPTURE_QP_INTERVALS = QP_INTERVALS[:4]


@dataclass
class Step:
    """One processing step: its stage, operation name, ffmpeg filter text and parameters."""

    stage: str  # enhance | preprocess | transcode
    op: str
    filter: str
    params: dict = field(default_factory=dict)

    def label(self) -> str:
        """Short human-readable form used in labels.csv `steps`."""
        ps = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.op}({ps})" if ps else self.op


@dataclass
class Plan:
    """A processed version of one source: its output name, workflow, steps and QP."""

    name: str
    source: str
    workflow: str
    qp: int
    steps: list[Step]

    def steps_text(self) -> str:
        """Steps joined with ' > ' in the order they are applied."""
        return " > ".join(s.label() for s in self.steps)

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {**asdict(self), "steps_text": self.steps_text()}


def _rng(seed: int, source_key: str) -> np.random.Generator:
    # Per-source stream: adding or removing a source never changes the others' plans.
    return np.random.default_rng([int(seed), zlib.crc32(source_key.encode("utf-8"))])


def _enhance_step(rng: np.random.Generator) -> Step:
    kind = ENHANCEMENTS[int(rng.integers(len(ENHANCEMENTS)))]
    if kind == "denoise":
        if rng.random() < 0.7:
            ls = round(float(rng.uniform(2.0, 6.0)), 1)
            return Step("enhance", "denoise_hqdn3d", f"hqdn3d={ls}:{ls * 0.75:.2f}:{ls * 1.5:.2f}:{ls * 1.1:.2f}", {"strength": ls})
        s = round(float(rng.uniform(2.0, 5.0)), 1)
        # Small patch/search sizes keep nlmeans affordable on CPU.
        return Step("enhance", "denoise_nlmeans", f"nlmeans=s={s}:p=3:r=7", {"s": s})
    if kind == "deblur":
        amount = round(float(rng.uniform(0.5, 1.8)), 2)
        size = int(rng.choice([3, 5, 7]))
        return Step("enhance", "deblur_unsharp", f"unsharp={size}:{size}:{amount}:{size}:{size}:0", {"size": size, "amount": amount})
    if rng.random() < 0.5:
        strength = str(rng.choice(["weak", "strong"]))
        return Step("enhance", "deartifact_deblock", f"deblock=filter={strength}:block=8", {"filter": strength})
    return Step("enhance", "deartifact_pp", "pp=hb/vb/dr", {"modes": "hb/vb/dr"})


def _preprocess_step(rng: np.random.Generator) -> Step:
    if PREPROCESSES[int(rng.integers(len(PREPROCESSES)))] == "lowpass":
        sigma = round(float(rng.uniform(0.6, 2.0)), 2)
        return Step("preprocess", "lowpass_gblur", f"gblur=sigma={sigma}", {"sigma": sigma})
    sigma = round(float(rng.uniform(2.0, 6.0)), 2)
    keep = round(float(rng.uniform(0.5, 0.75)), 2)
    # ROI: blur everything, then paste back the sharp central region (keep x keep of the frame).
    return Step("preprocess", "roi_blur", f"roi:{keep}:{sigma}", {"keep": keep, "sigma": sigma})


def _capture_step(kind: str, rng: np.random.Generator) -> Step:
    # {W} {H} {FPS} are filled from the probed source when the ffmpeg command is built.
    if kind == "defocus":
        sigma = round(float(rng.uniform(1.0, 3.5)), 2)
        return Step("capture", "defocus_gblur", f"gblur=sigma={sigma}", {"sigma": sigma})
    if kind == "motion_blur":
        n = int(rng.integers(3, 6))
        return Step("capture", "motion_blur_tmix", f"tmix=frames={n}", {"frames": n})
    if kind == "noise":
        strength = int(rng.integers(8, 30))
        return Step("capture", "sensor_noise", f"noise=alls={strength}:allf=t", {"strength": strength})
    if kind == "underexposure":
        gamma = round(float(rng.uniform(0.45, 0.75)), 2)
        contrast = round(float(rng.uniform(0.7, 0.95)), 2)
        return Step("capture", "underexposure_eq", f"eq=gamma={gamma}:contrast={contrast}", {"gamma": gamma, "contrast": contrast})
    if kind == "overexposure":
        brightness = round(float(rng.uniform(0.12, 0.3)), 2)
        gamma = round(float(rng.uniform(1.3, 1.9)), 2)
        return Step("capture", "overexposure_eq", f"eq=brightness={brightness}:gamma={gamma}", {"brightness": brightness, "gamma": gamma})
    if kind == "downscale":
        f = round(float(rng.uniform(2.0, 4.0)), 2)
        return Step("capture", "down_up_scale", f"scale=trunc(iw/{f}/2)*2:trunc(ih/{f}/2)*2:flags=bilinear,scale={{W}}:{{H}}:flags=bicubic", {"factor": f})
    if kind == "frame_drop":
        k = int(rng.integers(2, 5))
        # Drop every k-th frame, then re-time to the source rate: the gap is filled with a
        # repeat of the previous frame, so frames stay aligned by index with the source.
        return Step("capture", "frame_drop", f"select='not(eq(mod(n,{k}),{k - 1}))',fps={{FPS}}", {"every": k})
    raise ValueError(f"unknown capture distortion {kind!r}")


def make_plans(source_key: str, stem: str, per_source: int = 6, seed: int = 0, capture: int = 0) -> list[Plan]:
    """The processed versions of one source: QPs from distinct KVQ intervals, workflows balanced, then `capture` capture+transcode versions."""
    if per_source < 1:
        raise ValueError("per_source must be >= 1")
    if capture < 0:
        raise ValueError("capture must be >= 0")
    rng = _rng(seed, source_key)
    n_int = len(QP_INTERVALS)
    # Spread versions over the intervals: every interval once per round of six.
    intervals: list[int] = []
    while len(intervals) < per_source:
        k = min(n_int, per_source - len(intervals))
        intervals += sorted(rng.choice(n_int, size=k, replace=False).tolist())
    wf_order = []
    while len(wf_order) < per_source:
        wf_order += rng.permutation(len(WORKFLOWS)).tolist()
    plans = []
    for i in range(per_source):
        lo, hi = QP_INTERVALS[intervals[i]]
        qp = int(rng.integers(lo, hi + 1))
        wf = WORKFLOWS[wf_order[i]]
        steps: list[Step] = []
        if "enhance" in wf:
            steps.append(_enhance_step(rng))
        if "preprocess" in wf:
            steps.append(_preprocess_step(rng))
        steps.append(Step("transcode", "x264", f"libx264 -qp {qp}", {"qp": qp}))
        plans.append(Plan(name=f"{stem}__v{i + 1:02d}_qp{qp}.mp4", source=source_key, workflow=wf, qp=qp, steps=steps))
    if capture:
        # A separate stream: asking for capture versions never changes the KVQ versions.
        crng = _rng(seed + 7919, source_key)
        kinds: list[str] = []
        while len(kinds) < capture:
            kinds += crng.permutation(CAPTURES).tolist()
        for j, kind in enumerate(kinds[:capture]):
            lo, hi = CAPTURE_QP_INTERVALS[int(crng.integers(len(CAPTURE_QP_INTERVALS)))]
            qp = int(crng.integers(lo, hi + 1))
            steps = [_capture_step(kind, crng), Step("transcode", "x264", f"libx264 -qp {qp}", {"qp": qp})]
            plans.append(Plan(name=f"{stem}__c{j + 1:02d}_qp{qp}.mp4", source=source_key, workflow="capture+transcode", qp=qp, steps=steps))
    return plans


def filter_graph(plan: Plan, width: int | None = None, height: int | None = None, fps: str | None = None) -> str:
    """The ffmpeg -filter_complex graph (input [0:v], output [v]) of a plan's non-transcode steps.

    `width`/`height`/`fps` (the source's displayed size and frame rate) are needed by
    the down-up-scale and frame-drop capture steps.
    """
    chain: list[str] = []
    roi: Step | None = None
    for s in plan.steps:
        if s.stage == "transcode":
            continue
        if s.op == "roi_blur":
            roi = s
        else:
            f = s.filter
            if "{W}" in f or "{H}" in f:
                if not width or not height:
                    raise ValueError(f"{plan.name}: step {s.op} needs the source size")
                f = f.replace("{W}", str(int(width))).replace("{H}", str(int(height)))
            if "{FPS}" in f:
                if not fps:
                    raise ValueError(f"{plan.name}: step {s.op} needs the source frame rate")
                f = f.replace("{FPS}", str(fps))
            chain.append(f)
    head = ",".join(chain) if chain else "null"
    if roi is None:
        return f"[0:v]{head},format=yuv420p[v]"
    keep, sigma = roi.params["keep"], roi.params["sigma"]
    crop = f"crop=trunc(iw*{keep}/2)*2:trunc(ih*{keep}/2)*2"
    return (
        f"[0:v]{head},split[a][b];[a]gblur=sigma={sigma}[bg];[b]{crop}[fg];"
        f"[bg][fg]overlay=(W-w)/2:(H-h)/2,format=yuv420p[v]"
    )
