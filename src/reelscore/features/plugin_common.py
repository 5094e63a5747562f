"""Helpers shared by the plug-in extractors that load weights the user gives (clip, r3d18, dover, t5, caption)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from reelscore.features.base import (
    VideoInputs,
    clip_index,
    n_clips,
)


def need_path(path: str | None, option: str, name: str, what: str) -> Path:
    """The local path given for a weight option; a clear error naming the option when it is missing."""
    if not path:
        raise ValueError(f"extractor {name!r} needs {what}: pass {option} PATH (nothing is downloaded)")
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{p}: {option} path does not exist")
    return p


def load_state_dict(path: Path) -> dict:
    """A state dict from a torch.save file (plain or {'state_dict'/'model': ...}) or a TorchScript archive."""
    import torch

    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:
        obj = torch.jit.load(str(path), map_location="cpu").state_dict()
    for key in ("state_dict", "model", "model_state"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a state dict")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def resize_crop(frames: np.ndarray, resize: int | tuple[int, int], crop: int, interp: str = "area") -> np.ndarray:
    """uint8 [N,H,W,3] → float32 [N,crop,crop,3] in 0..1 (short side → resize, or (h, w); centre crop)."""
    import cv2

    flag = {"area": cv2.INTER_AREA, "cubic": cv2.INTER_CUBIC, "linear": cv2.INTER_LINEAR}[interp]
    out = np.empty((len(frames), crop, crop, 3), np.float32)
    for i, f in enumerate(frames):
        h, w = f.shape[:2]
        if isinstance(resize, tuple):
            nh, nw = resize
        else:
            s = resize / min(h, w)
            nh, nw = max(crop, round(h * s)), max(crop, round(w * s))
        r = cv2.resize(f, (nw, nh), interpolation=flag)
        y0, x0 = (nh - crop) // 2, (nw - crop) // 2
        out[i] = r[y0 : y0 + crop, x0 : x0 + crop].astype(np.float32) / 255.0
    return out


def clip_frame_groups(inputs: VideoInputs) -> tuple[int, list[np.ndarray]]:
    """Grid-frame indices of each clip (a partial last clip is padded by repeating its last frame)."""
    plan = inputs.plan
    dur = inputs.duration_s or float(inputs.timestamps[-1] + 1 / plan.fps)
    count = n_clips(dur, plan)
    cid = clip_index(inputs.timestamps, plan)
    groups = []
    for c in range(count):
        idx = np.flatnonzero(cid == c)
        if idx.size == 0:
            idx = np.array([len(inputs.timestamps) - 1])
        idx = np.concatenate([idx, np.full(plan.clip_len - min(idx.size, plan.clip_len), idx[-1])])[: plan.clip_len]
        groups.append(idx)
    return count, groups



def hf_dir(path: Path) -> str:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path}: not a transformers model directory (no config.json)")
    return str(path)


# CLIP's image normalisation (OpenAI CLIP, also used by BLIP's processor)
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
