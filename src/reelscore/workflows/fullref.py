"""Full-reference labels: VMAF v0.6.1 (vmaf-torch), PSNR and SSIM of a processed video against its source.

Frames are compared by decode index (our workflows keep every frame: ffmpeg runs
with `-fps_mode passthrough`). VMAF's motion feature needs consecutive frames, so we
sample `chunks` short runs of `chunk_len` consecutive frames spread over the video
and score only the frames that have a predecessor inside their run.

These scores are *proxies* for human MOS, not subjective scores.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LOCAL = threading.local()

# Documented VMAF -> MOS-like mapping: linear from VMAF 0 -> 1.0 to VMAF 100 -> 5.0,
# clipped to [1, 5]. Monotone, so SROCC against it equals SROCC against VMAF.
MOS_LOW, MOS_HIGH = 1.0, 5.0


def vmaf_to_mos(vmaf: float | np.ndarray) -> float | np.ndarray:
    """Map VMAF (0-100, may exceed 100 slightly) to a MOS-like 1-5 proxy: 1 + 4*VMAF/100, clipped."""
    v = np.asarray(vmaf, dtype=float)
    out = np.clip(MOS_LOW + (MOS_HIGH - MOS_LOW) * v / 100.0, MOS_LOW, MOS_HIGH)
    return float(out) if out.ndim == 0 else out


@dataclass
class FullRefScores:
    """Mean scores over the compared frames."""

    vmaf: float
    psnr: float
    ssim: float
    mos: float
    frames: int

    def to_dict(self) -> dict:
        """Plain dict."""
        return {"vmaf": self.vmaf, "psnr": self.psnr, "ssim": self.ssim, "mos": self.mos, "frames_compared": self.frames}


def count_frames(path: str | Path, limit: int | None = None) -> int:
    """Number of decodable video frames (decodes the stream; container counts can lie), stopping at `limit`."""
    import av

    n = 0
    with av.open(str(path), metadata_errors="ignore") as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in c.decode(stream):
            n += 1
            if limit is not None and n >= limit:
                break
    return n


def read_luma(path: str | Path, indices: set[int] | list[int]) -> dict[int, np.ndarray]:
    """Y planes (uint8 HxW, displayed size) of the frames at the given decode indices."""
    import av

    want = set(int(i) for i in indices)
    last = max(want) if want else -1
    out: dict[int, np.ndarray] = {}
    with av.open(str(path), metadata_errors="ignore") as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(c.decode(stream)):
            if i > last:
                break
            if i in want:
                if frame.format.name != "yuv420p":
                    frame = frame.reformat(format="yuv420p")
                h, w = frame.height, frame.width
                # yuv420p ndarray stacks Y (h rows) over U and V; Y is the luma VMAF wants.
                out[i] = np.ascontiguousarray(frame.to_ndarray()[:h, :w])
    return out


def sample_indices(n_frames: int, chunks: int = 6, chunk_len: int = 3) -> list[list[int]]:
    """`chunks` runs of `chunk_len` consecutive indices spread evenly over [0, n_frames)."""
    chunk_len = max(2, min(chunk_len, n_frames))
    if n_frames < 2:
        return [[0]] if n_frames == 1 else []
    starts = np.linspace(0, n_frames - chunk_len, num=max(1, chunks)).round().astype(int)
    runs = []
    for s in sorted(set(starts.tolist())):
        runs.append(list(range(s, s + chunk_len)))
    return runs


def psnr(ref: np.ndarray, dist: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (capped at 100 dB for identical images)."""
    mse = float(np.mean((ref.astype(np.float64) - dist.astype(np.float64)) ** 2))
    if mse <= 1e-10:
        return 100.0
    return float(min(100.0, 10.0 * np.log10(255.0**2 / mse)))


def ssim(ref: np.ndarray, dist: np.ndarray) -> float:
    """SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1=.01, K2=.03) of two uint8 luma images."""
    import cv2

    x = ref.astype(np.float64)
    y = dist.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(m[5:-5, 5:-5].mean()) if min(m.shape) > 10 else float(m.mean())


def _vmaf_module():
    mod = getattr(_LOCAL, "vmaf", None)
    if mod is None:
        from vmaf_torch import VMAF

        mod = VMAF(temporal_pooling=False, enable_motion=True, clip_score=False).eval()
        _LOCAL.vmaf = mod
    return mod


def vmaf_frames(ref_run: np.ndarray, dist_run: np.ndarray) -> np.ndarray:
    """Per-frame VMAF v0.6.1 of a run of consecutive luma frames [T,H,W] (first frame has no motion)."""
    import torch

    ref_t = torch.from_numpy(ref_run.astype(np.float32))[:, None]
    dist_t = torch.from_numpy(dist_run.astype(np.float32))[:, None]
    with torch.no_grad():
        scores = _vmaf_module()(ref_t, dist_t)
    return scores.reshape(-1).cpu().numpy().astype(float)


def _rotation_fix(ref: np.ndarray, dist: np.ndarray) -> int:
    """Quarter turns to apply to the reference when ffmpeg auto-rotated the processed video."""
    if ref.shape == dist.shape or ref.shape != dist.shape[::-1]:
        return 0
    errs = {k: float(np.mean((np.rot90(ref, k).astype(float) - dist.astype(float)) ** 2)) for k in (1, -1)}
    return min(errs, key=errs.get)


# Bump when the label computation changes, so cached labels are recomputed.
FULLREF_VERSION = 2


def cached_fullref_scores(
    ref_path: str | Path, dist_path: str | Path, chunks: int = 6, chunk_len: int = 3,
    max_side: int | None = 1280, use_cache: bool = True,
) -> FullRefScores:
    """`fullref_scores`, cached under ~/.cache/reelscore/fullref by the content of both files and the settings."""
    import hashlib
    import json

    from reelscore.common.atomic import write_text_atomic
    from reelscore.common.cache import cache_dir

    if not use_cache:
        return fullref_scores(ref_path, dist_path, chunks, chunk_len, max_side)
    h = hashlib.sha256()
    for p in (ref_path, dist_path):
        with open(p, "rb") as f:
            h.update(hashlib.file_digest(f, "sha256").digest())
    h.update(json.dumps([FULLREF_VERSION, chunks, chunk_len, max_side]).encode())
    path = cache_dir("fullref") / f"{h.hexdigest()[:32]}.json"
    if path.is_file():
        try:
            return FullRefScores(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            pass  # unreadable cache entry: recompute and overwrite
    res = fullref_scores(ref_path, dist_path, chunks, chunk_len, max_side)
    write_text_atomic(path, json.dumps(res.__dict__))
    return res


def fullref_scores(
    ref_path: str | Path, dist_path: str | Path, chunks: int = 6, chunk_len: int = 3, max_side: int | None = None,
) -> FullRefScores:
    """VMAF / PSNR / SSIM of `dist_path` against `ref_path` on sampled runs of consecutive frames.

    `chunks=0` compares every frame (the full label); `max_side` caps the longer side of
    both lumas before comparing (None: native size).
    """
    import cv2

    # the processed file is usually the shorter (--max-duration-s): the source is decoded only that far
    n_dist = count_frames(dist_path)
    n = min(count_frames(ref_path, limit=n_dist), n_dist)
    if n == 0:
        raise ValueError(f"{dist_path}: no decodable frames to compare")
    runs = sample_indices(n, chunks=chunks, chunk_len=chunk_len) if chunks > 0 else [list(range(i, min(n, i + 32))) for i in range(0, n, 31)]
    idx = sorted({i for r in runs for i in r})
    ref = read_luma(ref_path, idx)
    dist = read_luma(dist_path, idx)
    v_all, p_all, s_all = [], [], []
    k_rot = _rotation_fix(ref[idx[0]], dist[idx[0]])
    if k_rot:
        ref = {i: np.ascontiguousarray(np.rot90(a, k_rot)) for i, a in ref.items()}
    for run in runs:
        r = np.stack([ref[i] for i in run])
        d_frames = []
        for i in run:
            d = dist[i]
            if d.shape != ref[i].shape:
                # Different sizes only happen for foreign inputs; compare at the reference size.
                d = cv2.resize(d, (ref[i].shape[1], ref[i].shape[0]), interpolation=cv2.INTER_CUBIC)
            d_frames.append(d)
        d = np.stack(d_frames)
        if max_side:
            from reelscore.features.nativeq import cap_side  # area resize of the longer side, shared with nativeq

            r = np.stack([cap_side(a, max_side) for a in r])
            d = np.stack([cap_side(a, max_side) for a in d])
        v = vmaf_frames(r, d)
        keep = slice(1, None) if len(run) > 1 else slice(None)
        v_all.extend(v[keep].tolist())
        for k in range(len(run))[keep]:
            p_all.append(psnr(r[k], d[k]))
            s_all.append(ssim(r[k], d[k]))
    vm = float(np.mean(v_all))
    return FullRefScores(vmaf=vm, psnr=float(np.mean(p_all)), ssim=float(np.mean(s_all)), mos=float(vmaf_to_mos(vm)), frames=len(v_all))
