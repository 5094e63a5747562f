"""The `r3d18` plug-in: torchvision's R3D-18 re-implemented with the same state-dict keys; Kinetics weights from --r3d18-checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelscore.features.base import (
    Extractor,
    ExtractorOutput,
    VideoInputs,
    clip_starts,
)
from reelscore.features.plugin_common import (
    clip_frame_groups,
    load_state_dict,
    need_path,
    resize_crop,
)

# --- R3D-18 (torchvision VideoResNet layout) ------------------------------------------
R3D_MEAN = np.array([0.43216, 0.394666, 0.37645], np.float32)
R3D_STD = np.array([0.22803, 0.22145, 0.216989], np.float32)


def build_r3d18(num_classes: int = 400):
    """torchvision.models.video.r3d_18's architecture with the same state-dict keys."""
    from torch import nn

    def conv3(i: int, o: int, stride: int = 1):
        return nn.Conv3d(i, o, kernel_size=(3, 3, 3), stride=(stride, stride, stride), padding=(1, 1, 1), bias=False)

    class BasicBlock(nn.Module):
        def __init__(self, inp: int, planes: int, stride: int = 1, downsample=None) -> None:
            super().__init__()
            self.conv1 = nn.Sequential(conv3(inp, planes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
            self.conv2 = nn.Sequential(conv3(planes, planes), nn.BatchNorm3d(planes))
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            res = x if self.downsample is None else self.downsample(x)
            return self.relu(self.conv2(self.conv1(x)) + res)

    class R3D18(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
                nn.BatchNorm3d(64),
                nn.ReLU(inplace=True),
            )
            inp = 64
            for i, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], 1):
                down = None
                if stride != 1 or inp != planes:
                    down = nn.Sequential(nn.Conv3d(inp, planes, kernel_size=1, stride=stride, bias=False), nn.BatchNorm3d(planes))
                setattr(self, f"layer{i}", nn.Sequential(BasicBlock(inp, planes, stride, down), BasicBlock(planes, planes)))
                inp = planes
            self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
            self.fc = nn.Linear(512, num_classes)

        def features(self, x):
            x = self.stem(x)
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.avgpool(x).flatten(1)

        def forward(self, x):
            return self.fc(self.features(x))

    return R3D18()


class R3D18Extractor(Extractor):
    """R3D-18 (Kinetics-400) action features per clip of L grid frames; weights from --r3d18-checkpoint."""

    name = "r3d18"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "each clip's L grid frames (last clip padded by repetition)"
    preprocessing = "RGB; resize to 128x171 (bilinear); centre crop 112; /255; Kinetics mean/std; [1,3,L,112,112]"

    @dataclass
    class Config:
        """checkpoint: torchvision r3d_18 state dict (required)."""

        checkpoint: str | None = None

    def __init__(self, **cfg) -> None:
        super().__init__(**cfg)
        self.path = need_path(self.cfg.checkpoint, "--r3d18-checkpoint", self.name, "an R3D-18 checkpoint")
        self.model = None
        self.device = "cpu"
        self.batch_size = 4

    def key_config(self) -> dict:
        """Keyed on the weights' file name and size."""
        return {**self.config(), "checkpoint": f"{self.path.name}:{self.path.stat().st_size}"}

    def feature_names(self) -> list[str]:
        """Mean 512-d clip feature, then the mean top-1 Kinetics probability."""
        return [f"f{i:03d}" for i in range(512)] + ["top1_prob"]

    def clip_feature_names(self) -> list[str]:
        """512-d feature per clip."""
        return [f"f{i:03d}" for i in range(512)]

    def setup(self, device: str = "cpu") -> None:
        """Load the torchvision-layout weights."""
        state = load_state_dict(self.path)
        model = build_r3d18(num_classes=state["fc.weight"].shape[0])
        model.load_state_dict(state, strict=True)
        self.device = device
        self.model = model.eval().to(device)

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """One 16-frame tensor per clip → 512-d features."""
        import torch

        if self.model is None:
            self.setup(self.device)
        count, groups = clip_frame_groups(inputs)
        x_all = (resize_crop(inputs.frames, (128, 171), 112, "linear") - R3D_MEAN) / R3D_STD
        feats, probs = [], []
        with torch.inference_mode():
            for s in range(0, count, self.batch_size):
                x = np.stack([x_all[g] for g in groups[s : s + self.batch_size]])  # [B, L, H, W, 3]
                t = torch.from_numpy(x).permute(0, 4, 1, 2, 3).contiguous().to(self.device)
                f = self.model.features(t)
                feats.append(f.float().cpu().numpy())
                probs.append(torch.softmax(self.model.fc(f), -1).float().cpu().numpy())
        f, p = np.concatenate(feats), np.concatenate(probs)
        pooled = np.append(f.mean(0, dtype=np.float64), p.max(1).mean(dtype=np.float64)).astype(np.float32)
        meta = {"clip_top1_index": [int(i) for i in p.argmax(1)]}
        return ExtractorOutput(pooled=pooled, clip_starts=clip_starts(count, inputs.plan), clips=f.astype(np.float32), meta=meta)
