"""The extractor protocol: what every extractor declares, takes and returns.

An extractor is a plain object with explicit hyper-parameters (its `config`).
It declares name, version, modality, sampler, output shape and its exact
preprocessing; the store keys rows on (content hash, name, version + config
hash), so a changed extractor never mixes with old rows.

Frame-based extractors share one decode per video: the pipeline samples a
fixed grid of frames (`FramePlan`: `fps` frames per second, short side
`short_side`) once, and each extractor takes what it needs from that grid.
Clips are `clip_len` consecutive grid frames (L = 16 as in SnapUGC); a clip's
start time is the timestamp of its first grid frame.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class FramePlan:
    """The shared frame grid: timestamps k/fps (k = 0, 1, ...) decoded once at `short_side`."""

    fps: float = 4.0
    short_side: int = 360
    clip_len: int = 16

    def timestamps(self, duration_s: float) -> np.ndarray:
        """Grid timestamps j/fps for j in [0, ceil(duration*fps)) (media's frame_grid)."""
        n = max(1, int(np.ceil(duration_s * self.fps - 1e-9)))
        return np.arange(n, dtype=np.float64) / self.fps

    @property
    def clip_seconds(self) -> float:
        """Length of one clip in seconds."""
        return self.clip_len / self.fps


@dataclass(frozen=True)
class FirstFrames:
    """The first `n` decoded frames (native timing, not the grid), each resized to exactly
    `width` x `height` with OpenCV bilinear (aspect not kept) and, when `grey`, converted to grey.
    With `short_side` > 0, width and height are ignored: the aspect is kept, the short side becomes
    `short_side` (INTER_AREA; never enlarged), and a grey frame is made grey before it is resized."""

    n: int = 90
    width: int = 160
    height: int = 90
    grey: bool = True
    short_side: int = 0


@dataclass(frozen=True)
class IndexFrames:
    """`count` frames at frame indices int(linspace(0, n_frames - 1, count)) (first, middle, last for 3), native size."""

    count: int = 3


@dataclass(frozen=True)
class Bitstream:
    """The encoded stream itself (media.bitstream.BitstreamInfo): every video packet's size and key flag,
    and the (picture type, mean QP) of the first `qp_frames` frames (QP None where the codec exports none)."""

    qp_frames: int = 60


@dataclass
class VideoInputs:
    """Everything an extractor may read for one video (fields it does not need may be None)."""

    video_id: str
    path: str | None = None
    duration_s: float | None = None
    info: dict | None = None
    frames: np.ndarray | None = None  # uint8 [N, H, W, 3]: every `grid_step`-th frame of the FramePlan grid
    timestamps: np.ndarray | None = None  # float64 [N]
    audio: np.ndarray | None = None  # float32 mono [n] at audio_rate
    audio_rate: int = 16000
    audio_missing: str | None = None  # reason when the file has no usable audio track
    audio_error: Any = None  # the MediaError of an audio track that exists but cannot be decoded
    texts: dict[str, str] = field(default_factory=dict)  # title, description, caption
    prior: dict[str, "ExtractorOutput"] = field(default_factory=dict)  # outputs of extractors run before
    plan: FramePlan = field(default_factory=FramePlan)
    # extra samplings asked for by extractors' `requests()` (FirstFrames, IndexFrames, Bitstream, AudioSpec) → values
    extra: dict[Any, Any] = field(default_factory=dict)
    # a request that could not be met → its reason (the extractor that asked says so)
    extra_missing: dict[Any, str] = field(default_factory=dict)
    # the analysis converts only the grid frames some extractor reads: `frames` holds every grid_step-th
    grid_step: int = 1
    # grid passes run during the decode (extractor name → its result, or the exception it raised); when
    # every extractor that reads the grid ran one, `frames` is None: no whole-video frame array is kept
    grid_results: dict[str, Any] = field(default_factory=dict)

    def require(self, request: Any, what: str = "the index frames were not decoded") -> Any:
        """What the decode got for one of an extractor's requests, or a RuntimeError with the reason it has none."""
        got = self.extra.get(request)
        if got is None:
            raise RuntimeError(self.extra_missing.get(request, what))
        return got

    def grid_every(self, stride: int) -> tuple[np.ndarray, np.ndarray]:
        """Every `stride`-th frame of the plan's grid and its times (counted from the first frame held)."""
        stride = max(1, int(stride))
        if stride % self.grid_step:
            raise ValueError(f"one grid frame in {stride} asked for, but the decode kept one in {self.grid_step} "
                             "(an extractor's grid_stride does not say what it reads)")
        sel = slice(None, None, stride // self.grid_step)
        return self.frames[sel], self.timestamps[sel]


@dataclass
class ExtractorOutput:
    """One video's features from one extractor."""

    pooled: np.ndarray  # float32 [D] named by Extractor.feature_names()
    clip_starts: np.ndarray | None = None  # float64 [C]
    clips: np.ndarray | None = None  # float32 [C, Dc]
    token_fields: list[str] | None = None
    tokens: np.ndarray | None = None  # float32 [F, Dt]
    meta: dict[str, Any] = field(default_factory=dict)  # JSON-safe extras (class names, cut times, flags)
    # in memory only (never stored): per-frame rows and their times, so a window can be pooled from them
    frame_values: np.ndarray | None = None  # float64 [N, F]
    frame_times: np.ndarray | None = None  # float64 [N]


class GridPass:
    """One video's work on an extractor's grid frames, fed in time order chunk by chunk while the grid is
    decoded, so no whole-video frame array has to be kept (see `Extractor.grid_pass`)."""

    def add(self, frames: np.ndarray, timestamps: np.ndarray) -> None:
        """The next frames [n, H, W, 3] (every `grid_stride`-th grid frame) and their times."""
        raise NotImplementedError

    def result(self) -> Any:
        """What `extract` reads, once every frame was added."""
        raise NotImplementedError


GRID_CHUNK = 16  # grid frames converted and handed to the passes at a time


def window_blocks(n: int, win: int, hop: int, block: int):
    """(first window, sample indices [k, win]) of n windows of `win` samples every `hop`, `block` windows at a
    time: framing a long signal whole would hold a win-times copy of it."""
    for a in range(0, n, block):
        yield a, np.arange(win)[None, :] + hop * np.arange(a, min(n, a + block))[:, None]


def feed_pass(p: GridPass, frames: np.ndarray, timestamps: np.ndarray | None = None) -> Any:
    """A grid pass run over a whole frame stack, GRID_CHUNK frames at a time as the decode feeds it."""
    ts = np.zeros(len(frames)) if timestamps is None else timestamps
    for s in range(0, len(frames), GRID_CHUNK):
        p.add(frames[s: s + GRID_CHUNK], ts[s: s + GRID_CHUNK])
    return p.result()


def grid_pass_result(ext: "Extractor", inputs: VideoInputs) -> Any:
    """The extractor's grid-pass result: from the decode when it ran there, else computed now from
    `inputs.frames` in the same chunks (so both ways give the same values)."""
    got = inputs.grid_results.get(ext.name)
    if isinstance(got, BaseException):
        raise got
    if got is not None:
        return got
    if inputs.frames is None:
        raise RuntimeError("the grid frames were not kept and no grid pass ran for this extractor")
    return feed_pass(ext.grid_pass(inputs), *inputs.grid_every(ext.grid_stride))


class Extractor:
    """Base class; subclasses set the class attributes and implement `extract`."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    modality: ClassVar[str] = ""  # visual | audio | text
    needs: ClassVar[frozenset[str]] = frozenset()  # subset of {"frames", "audio", "text", "media"}
    sampler: ClassVar[str] = ""  # how inputs are sampled, in words
    preprocessing: ClassVar[str] = ""  # exact preprocessing, in words
    requires: ClassVar[tuple[str, ...]] = ()  # extractors whose output this one reads (run first)
    per_video: ClassVar[bool] = False  # True: `window` returns the whole video's values (no per-second variation)
    key_kind: ClassVar[str] = "media"  # rows keyed by the file's content hash ("media") or its texts ("text")

    @dataclass
    class Config:
        """Hyper-parameters (subclasses replace this)."""

    def __init__(self, **cfg: Any) -> None:
        from reelscore.common.config import config_from_dict

        self.cfg = config_from_dict(self.Config, cfg)
        self.plan = FramePlan()  # the pipeline sets the run's plan before setup()

    # --- declared shape -------------------------------------------------
    def feature_names(self) -> list[str]:
        """Names of the pooled per-video features, in order."""
        raise NotImplementedError

    def clip_feature_names(self) -> list[str] | None:
        """Names of the per-clip features (None when the extractor has no clip rows)."""
        return None

    @property
    def dim(self) -> int:
        """Length of the pooled vector."""
        return len(self.feature_names())

    @property
    def clip_dim(self) -> int | None:
        """Length of one clip row (None without clip rows)."""
        names = self.clip_feature_names()
        return None if names is None else len(names)

    def config(self) -> dict:
        """The hyper-parameters as a plain dict."""
        return dataclasses.asdict(self.cfg)

    def key_config(self) -> dict:
        """The part of the config that changes outputs (what the store keys on)."""
        return self.config()

    @property
    def spec_id(self) -> str:
        """`<version>-<hash of key config>`: the store directory for this extractor's rows."""
        key = {"config": self.key_config()}
        if self.modality != "text":  # grid rate and clip length shape every media feature
            key["plan"] = dataclasses.asdict(self.plan)
        blob = json.dumps(key, sort_keys=True, default=str).encode()
        return f"v{self.version}-{hashlib.sha1(blob).hexdigest()[:8]}"

    def spec(self) -> dict:
        """Everything the store records about this extractor."""
        return {
            "name": self.name,
            "version": self.version,
            "spec_id": self.spec_id,
            "modality": self.modality,
            "key": self.key_kind,
            "sampler": self.sampler,
            "preprocessing": self.preprocessing,
            "config": self.config(),
            "plan": dataclasses.asdict(self.plan) if self.modality != "text" else None,
            "needs": sorted(self.needs),
            "requires": list(self.requires),
            "dim": self.dim,
            "clip_dim": self.clip_dim,
            "feature_names": self.feature_names(),
            "clip_feature_names": self.clip_feature_names(),
        }

    def window(self, output: "ExtractorOutput", start_s: float, end_s: float) -> "ExtractorOutput | None":
        """This extractor's output for [start_s, end_s) pooled from the whole video's `output` (no recompute),
        or None when the extractor cannot (the timeline then runs `extract` on the window's inputs).
        A `per_video` extractor (its inputs describe the whole file) gives the video's own values."""
        if self.per_video:
            return dataclasses.replace(output, meta={**output.meta, "window": "the whole video's values"})
        return None

    @property
    def grid_stride(self) -> int:
        """Every how many frames of the shared grid this extractor reads (0: none). The analysis converts
        only grid frames some extractor reads (the gcd of these); the default reads every one."""
        return 1 if "frames" in self.needs else 0

    def grid_pass(self, inputs: VideoInputs) -> GridPass | None:
        """A pass over this extractor's grid frames that the analysis feeds while it decodes (None: `extract`
        reads `inputs.frames`). `extract` then takes its result with `grid_pass_result`."""
        return None

    def requests(self) -> tuple:
        """Extra samplings beyond the shared grid and 16-kHz mono audio (FirstFrames, IndexFrames,
        media.AudioSpec); the analysis meets them in the same decode pass."""
        return ()

    # --- work -----------------------------------------------------------
    def setup(self, device: str = "cpu") -> None:
        """Load weights (called once per process before the first `extract`)."""

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Features of one video."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version!r}, dim={self.dim})"


def clip_index(timestamps: np.ndarray, plan: FramePlan) -> np.ndarray:
    """Clip number of each grid timestamp (clip c covers [c*L/fps, (c+1)*L/fps))."""
    return np.floor(np.asarray(timestamps) / plan.clip_seconds + 1e-9).astype(np.int64)


def n_clips(duration_s: float, plan: FramePlan) -> int:
    """How many clips a video of this duration has (the last one may be partial)."""
    return max(1, int(np.ceil(duration_s / plan.clip_seconds - 1e-9)))


def pool_by_clip(values: np.ndarray, clip_ids: np.ndarray, count: int) -> np.ndarray:
    """Mean of per-frame rows [N, D] within each clip → [count, D] (NaN for a clip without rows)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full((count, values.shape[1]), np.nan)
    import warnings

    for c in range(count):
        sel = clip_ids == c
        if sel.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN on purpose
                out[c] = np.nanmean(values[sel], axis=0)
    return out.astype(np.float32)


def clip_starts(count: int, plan: FramePlan) -> np.ndarray:
    """Start times of `count` clips."""
    return np.arange(count, dtype=np.float64) * plan.clip_seconds
