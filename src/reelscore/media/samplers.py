"""Frame samplers over a VideoReader, each with exact, documented timestamps.

All times are seconds from the container start (see reelscore.media.reader);
`D` below is the video stream's duration (`reader.video_duration_s`) and `fps`
its average frame rate (`reader.info.fps`). Grids are defined in time, so a
variable-frame-rate video is sampled at the frames on screen at those times.

- per_second(k):  t_i = i / k for i = 0 .. ceil(D*k) - 1.
- clips(L):       the frame grid t_j = j / fps for j = 0 .. ceil(D*fps) - 1, cut into
                  consecutive clips of L; the last clip is padded by repeating its last
                  frame (and time). starts[c] = t_{c*L}.
- window(a, b):   every decoded frame with a <= t < b (native timing, no grid); if none
                  falls inside, the frame on screen at a.
- fragments(...): FAST-VQA / DOVER grid mini-patches, see `fragments`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from reelscore.media.reader import EPS, FrameSample, VideoReader


@dataclass
class ClipSample:
    """Consecutive L-frame clips: starts [C], timestamps [C,L], frames uint8 [C,L,H,W,3]."""

    starts: np.ndarray
    timestamps: np.ndarray
    frames: np.ndarray


@dataclass
class FragmentSample:
    """Grid mini-patch fragments: timestamps [T], frames uint8 [T, grid*size, grid*size, 3].

    `indices` [T] are positions on the 1/fps frame grid; `offsets` [grid, grid, 2] the
    (y, x) top-left corner of each cell's patch in the (possibly upscaled) frame;
    `scale` the upscale factor applied before cutting (1.0 when the frame was big enough).
    """

    timestamps: np.ndarray
    frames: np.ndarray
    indices: np.ndarray
    offsets: np.ndarray
    scale: float


def _count(duration: float, rate: float) -> int:
    # EPS keeps t = D out of the grid when D*rate is an integer computed inexactly.
    return max(1, math.ceil(duration * rate - EPS))


def per_second_times(duration_s: float, k: int = 1) -> np.ndarray:
    """The per_second(k) grid: t_i = i/k for i in [0, ceil(D*k))."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return np.arange(_count(duration_s, k), dtype=np.float64) / k


def frame_grid(duration_s: float, fps: float) -> np.ndarray:
    """The nominal frame grid t_j = j/fps for j in [0, ceil(D*fps))."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return np.arange(_count(duration_s, fps), dtype=np.float64) / fps


def per_second(reader: VideoReader, k: int = 1) -> FrameSample:
    """k frames per second: the frames on screen at t = i/k (sparse access: seeks between seconds)."""
    return reader.frames_at(per_second_times(reader.video_duration_s, k))


def clip_times(duration_s: float, fps: float, L: int = 16) -> np.ndarray:
    """The clips(L) timestamps [C, L]: the 1/fps grid cut into clips, last one padded by repetition."""
    if L < 1:
        raise ValueError(f"L must be >= 1, got {L}")
    grid = frame_grid(duration_s, fps)
    c = math.ceil(grid.size / L)
    padded = np.concatenate([grid, np.full(c * L - grid.size, grid[-1])])
    return padded.reshape(c, L)


def clips(reader: VideoReader, L: int = 16) -> ClipSample:
    """Consecutive clips of L frames covering the whole video (SnapUGC layout), with clip start times."""
    times = clip_times(reader.video_duration_s, reader.info.fps, L)
    sample = reader.frames_at(times.ravel())
    c = times.shape[0]
    return ClipSample(
        starts=times[:, 0].copy(),
        timestamps=times,
        frames=sample.frames.reshape(c, L, *sample.frames.shape[1:]),
    )


def window(reader: VideoReader, start_s: float, end_s: float) -> FrameSample:
    """Every frame shown in [start_s, end_s) at native timing (e.g. window(r, 0, 5): the first 5 s)."""
    if not end_s > start_s:
        raise ValueError(f"window: end_s ({end_s}) must be greater than start_s ({start_s})")
    if start_s >= reader.video_duration_s - EPS:
        raise ValueError(f"window: start_s {start_s} is at or after the end ({reader.video_duration_s:.3f} s)")
    times, frames = [], []
    for t, img in reader.iter_frames(start_s, end_s):
        times.append(t)
        frames.append(img)
    if not frames:
        return reader.frames_at([start_s])
    return FrameSample(timestamps=np.array(times, dtype=np.float64), frames=np.stack(frames))


def fragment_indices(
    num_frames: int, frames: int = 32, interval: int = 2, segments: int = 8, rng: np.random.Generator | None = None
) -> np.ndarray:
    """DOVER's FragmentSampleFrames: `segments` equal parts, `frames/segments` frames `interval` apart in each.

    The offset inside each part is random (rng) or centred (rng None); indices wrap
    modulo num_frames for short videos, as in DOVER.
    """
    if frames % segments:
        raise ValueError(f"frames ({frames}) must be a multiple of segments ({segments})")
    per = frames // segments
    tgrids = np.array([num_frames // segments * i for i in range(segments)], dtype=np.int64)
    tlength = num_frames // segments
    room = tlength - per * interval
    if room > 0:
        off = rng.integers(0, room, size=segments) if rng is not None else np.full(segments, room // 2)
    else:
        off = np.zeros(segments, dtype=np.int64)
    idx = np.arange(per)[None, :] * interval + off[:, None] + tgrids[:, None]
    return np.mod(idx.ravel(), max(1, num_frames))


def fragment_offsets(
    height: int, width: int, grid: int = 7, size: int = 32, rng: np.random.Generator | None = None
) -> np.ndarray:
    """DOVER's get_spatial_fragments corners [grid, grid, 2] (y, x): one patch per cell, random or centred."""
    hgrids = np.array([min(height // grid * i, height - size) for i in range(grid)])
    wgrids = np.array([min(width // grid * i, width - size) for i in range(grid)])
    hlen, wlen = height // grid, width // grid
    if rng is not None:
        rh = rng.integers(0, hlen - size, size=(grid, grid)) if hlen > size else np.zeros((grid, grid), np.int64)
        rw = rng.integers(0, wlen - size, size=(grid, grid)) if wlen > size else np.zeros((grid, grid), np.int64)
    else:
        rh = np.full((grid, grid), max(0, (hlen - size) // 2))
        rw = np.full((grid, grid), max(0, (wlen - size) // 2))
    ys = np.clip(hgrids[:, None] + rh, 0, height - size)
    xs = np.clip(wgrids[None, :] + rw, 0, width - size)
    return np.stack([ys, xs], axis=-1).astype(np.int64)


def _upscale(frames: np.ndarray, scale: float) -> np.ndarray:
    """Bilinear upscale of [T,H,W,3] so the fragment grid fits (DOVER's 'upsample' fallback)."""
    import cv2

    t, h, w, _ = frames.shape
    nh, nw = max(1, math.ceil(h * scale - EPS)), max(1, math.ceil(w * scale - EPS))
    return np.stack([cv2.resize(f, (nw, nh), interpolation=cv2.INTER_LINEAR) for f in frames])


def fragments(
    reader: VideoReader,
    grid: int = 7,
    size: int = 32,
    frames: int = 32,
    interval: int = 2,
    seed: int = 0,
    random: bool = True,
    *,
    segments: int = 8,
) -> FragmentSample:
    """FAST-VQA/DOVER fragments: a grid x grid mosaic of size-px patches, the same cells in every frame.

    Temporal: the 1/fps frame grid is split into `segments` parts; in each, frames/segments
    frames `interval` apart start at a random (seeded) or centred offset. Spatial: frame
    (H, W) is cut into grid x grid cells; each cell gives one size x size patch at a random
    (seeded) or centred offset, the same for all frames (aligned). Frames smaller than
    grid*size are first upscaled bilinearly so the short side fits. Use an unresized
    reader (short_side=None) to match DOVER.
    """
    rng = np.random.default_rng(seed) if random else None
    grid_t = frame_grid(reader.video_duration_s, reader.info.fps)
    idx = fragment_indices(grid_t.size, frames, interval, segments, rng)
    times = grid_t[idx]
    sample = reader.frames_at(times)
    imgs = sample.frames
    h, w = imgs.shape[1:3]
    need = grid * size
    scale = 1.0
    if min(h / need, w / need) < 1:
        scale = 1.0 / min(h / need, w / need)
        imgs = _upscale(imgs, scale)
        h, w = imgs.shape[1:3]
    offs = fragment_offsets(h, w, grid, size, rng)
    out = np.empty((imgs.shape[0], need, need, 3), np.uint8)
    for i in range(grid):
        for j in range(grid):
            y, x = offs[i, j]
            out[:, i * size : (i + 1) * size, j * size : (j + 1) * size] = imgs[:, y : y + size, x : x + size]
    return FragmentSample(timestamps=times, frames=out, indices=idx, offsets=offs, scale=scale)


def spread_frames(path: str | os.PathLike, n: int = 4, short_side: int | None = 240) -> FrameSample:
    """`n` frames at the centres of n equal slices of the video (never the often-black first/last frame)."""
    with VideoReader(path, short_side=short_side) as reader:
        dur = max(float(reader.info.duration_s or 0.0), 0.0)
        ts = [dur * (i + 0.5) / n for i in range(n)] if dur > 0 else [0.0]
        return reader.frames_at(np.asarray(ts, dtype=np.float64))


def fragment_mosaic(frame: np.ndarray, grid: int = 7, size: int = 32) -> np.ndarray:
    """One frame's FAST-VQA fragment mosaic [grid*size, grid*size, 3]: the centred size-px native patch of
    every grid cell (frames smaller than grid*size upscaled bilinearly first, as `fragments` does)."""
    need = grid * size
    h, w = frame.shape[:2]
    if min(h / need, w / need) < 1:
        frame = _upscale(frame[None], 1.0 / min(h / need, w / need))[0]
        h, w = frame.shape[:2]
    offs = fragment_offsets(h, w, grid, size, None)
    out = np.empty((need, need, 3), np.uint8)
    for i in range(grid):
        for j in range(grid):
            y, x = offs[i, j]
            out[i * size:(i + 1) * size, j * size:(j + 1) * size] = frame[y:y + size, x:x + size]
    return out


@dataclass
class FragmentDraws:
    """Several fragment draws of one video (uint8 [D,T,G·P,G·P,3]) and a few full frames [K,H,W,3]."""

    draws: np.ndarray
    frames: np.ndarray
    timestamps: np.ndarray


def fragment_draws(path: str | os.PathLike, draws: int, grid: int, size: int, frames: int, seed: int = 0,
                   random: bool = True, segments: int = 8, full_frames: int = 4) -> FragmentDraws:
    """`draws` fragment samples (seeds seed..seed+draws-1) and `full_frames` native frames from the last
    draw's times, from one open reader (what the KSVQE-style model reads per video)."""
    out = []
    with VideoReader(path) as r:
        for i in range(draws):
            fs = fragments(r, grid=grid, size=size, frames=frames, interval=1, seed=seed + i, random=random,
                           segments=segments)
            out.append(fs.frames)
        times = np.asarray(fs.timestamps)[:: max(1, len(fs.timestamps) // full_frames)][:full_frames]
        full = r.frames_at(times).frames
    return FragmentDraws(draws=np.stack(out), frames=full, timestamps=times)
