"""PIQE (Venkatanath et al., NCC 2015), the perception-based image quality evaluator, and the `piqe` extractor.

PIQE needs no training: on the MSCN coefficients of the grey image (7 x 7 Gaussian, sigma 7/6, C = 1)
it takes non-overlapping 16 x 16 blocks, keeps the spatially active ones (coefficient variance v > 0.1)
and scores each active block for
- noticeable distortion (blockiness, blur): some 6-pixel segment of one of its four edges is nearly
  flat (sample std < 0.1) -> the block scores 1 - v;
- noise: the block's sigma = sqrt(v) exceeds twice beta = |sigma - r| / max(sigma, r), where r is the
  std of its two centre columns over the std of the other fourteen -> the block scores v;
and PIQE = 100 * (sum of block scores + 1) / (number of active blocks + 1): 0 is best, 100 worst
(MATLAB's bands: <= 20 excellent, 21-35 good, 36-50 fair, 51-80 poor, > 80 bad). Partial blocks at
the right and bottom edges are left out (MATLAB pads them). The grey image is BT.601 luma on 0..255.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from reelscore.features.base import Extractor, ExtractorOutput, IndexFrames, VideoInputs

BLOCK = 16
ACTIVITY_T = 0.1
SEGMENT = 6
SEGMENT_T = 0.1


def _blocks(m: np.ndarray, b: int) -> np.ndarray:
    """[rows, cols, b, b] view of the full b x b blocks of a 2-D array."""
    h, w = (m.shape[0] // b) * b, (m.shape[1] // b) * b
    return m[:h, :w].reshape(h // b, b, w // b, b).swapaxes(1, 2)


def _segment_std(edges: np.ndarray, n: int) -> np.ndarray:
    """Sample std (ddof 1) of every run of n consecutive values along the last axis."""
    win = np.lib.stride_tricks.sliding_window_view(edges, n, axis=-1)
    return win.std(axis=-1, ddof=1)


def piqe_maps(y: np.ndarray) -> dict[str, np.ndarray]:
    """Per-block PIQE parts of a grey image (0..255): variance, active, noticeable distortion, noise, score."""
    from reelscore.features.niqe import mscn_and_sigma

    m, _ = mscn_and_sigma(np.asarray(y, np.float64))
    blk = _blocks(m, BLOCK)
    if blk.size == 0:
        return {}
    flat = blk.reshape(blk.shape[0], blk.shape[1], -1)
    var = flat.var(axis=-1, ddof=1)
    active = var > ACTIVITY_T
    edges = np.stack([blk[..., 0, :], blk[..., -1, :], blk[..., :, 0], blk[..., :, -1]], axis=2)  # [r, c, 4, 16]
    ndc = (_segment_std(edges, SEGMENT) < SEGMENT_T).any(axis=(-1, -2))
    c0 = BLOCK // 2 - 1  # the two centre columns
    centre = blk[..., :, c0:c0 + 2].reshape(blk.shape[0], blk.shape[1], -1)
    surround = np.concatenate([blk[..., :, :c0], blk[..., :, c0 + 2:]], axis=-1).reshape(blk.shape[0], blk.shape[1], -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.nan_to_num(centre.std(axis=-1, ddof=1) / surround.std(axis=-1, ddof=1))
        sigma = np.sqrt(var)
        beta = np.nan_to_num(np.abs(sigma - r) / np.maximum(sigma, r))
    noise = sigma > 2 * beta
    score = active * (ndc * (1 - var) + noise * var)
    return {"var": var, "active": active, "ndc": ndc & active, "noise": noise & active, "score": score}


def piqe_of_maps(p: dict[str, np.ndarray]) -> float:
    """The PIQE score of piqe_maps' blocks (NaN for an image without a full block)."""
    if not p:
        return float("nan")
    return float(100.0 * (p["score"].sum() + 1.0) / (p["active"].sum() + 1.0))


def piqe(y: np.ndarray) -> float:
    """PIQE of a grey image (0..255): 0 best, 100 worst; NaN when it holds no full 16 x 16 block."""
    return piqe_of_maps(piqe_maps(y))


class PiqeExtractor(Extractor):
    """PIQE of native frames (mean, std, max) and the shares of active blocks flagged as distorted / noisy."""

    name = "piqe"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    per_video = True  # a timeline window reuses the video's values (native frames spread over the video)
    sampler = "frames at indices int(linspace(0, n-1, frames)) at native size"
    preprocessing = "longer side capped at max_side (INTER_AREA); BT.601 luma 0..255; MSCN 7x7 sigma 7/6; 16-px blocks"

    @dataclass
    class Config:
        """How many native frames and the size cap."""

        frames: int = 4
        max_side: int = 1280

    def feature_names(self) -> list[str]:
        """PIQE statistics and the block shares behind them."""
        return ["piqe_mean", "piqe_std", "piqe_max", "active_share", "distorted_share", "noisy_share"]

    grid_stride = 0  # reads its own samplings, not the shared grid

    def requests(self) -> tuple:
        """Native index frames."""
        return (IndexFrames(self.cfg.frames),)

    def frame_values(self, rgb: np.ndarray) -> np.ndarray:
        """[PIQE, active share, share of active blocks with noticeable distortion, share of active noisy blocks]."""
        from reelscore.features.nativeq import cap_side
        from reelscore.features.technical import luma

        p = piqe_maps(luma(cap_side(rgb, self.cfg.max_side)).astype(np.float64))
        if not p:
            return np.full(4, np.nan)
        n_act = p["active"].sum()
        ndc, noise = (p["ndc"].sum() / n_act, p["noise"].sum() / n_act) if n_act else (np.nan, np.nan)
        return np.array([piqe_of_maps(p), p["active"].mean(), ndc, noise], np.float64)

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """PIQE parts of each index frame, pooled."""
        from reelscore.common.threads import opencv_map

        frames = inputs.require(IndexFrames(self.cfg.frames))
        with opencv_map() as run:
            v = np.stack(list(run(self.frame_values, list(frames))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pooled = [np.nanmean(v[:, 0]), np.nanstd(v[:, 0]), np.nanmax(v[:, 0]),
                      np.nanmean(v[:, 1]), np.nanmean(v[:, 2]), np.nanmean(v[:, 3])]
        return ExtractorOutput(pooled=np.asarray(pooled, np.float32), meta={"frames": int(len(frames))})
