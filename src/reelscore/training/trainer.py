"""EngagementNet trainer: masked L2 on NAWP and ECR, Adam + cosine decay, optional EMA, DDP under torchrun."""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelscore.models.engagement_net import (
    EngagementNetConfig,
    EngagementNetModel,
    collate,
    input_dims,
    resolve_inputs,
    set_input_norm,
    tiny_config,
    to_device,
)
from reelscore.models.registry import ModelError
from reelscore.training.cv import score
from reelscore.training.datasets import EngagementDataset, label_norm, store_inputs


@dataclass
class TrainConfig:
    """Optimisation settings (paper: Adam, cosine 1e-4 → 1e-7, batch 8)."""

    targets: list[str] = field(default_factory=lambda: ["NAWP", "ECR"])
    loss_weights: dict[str, float] = field(default_factory=dict)
    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-4
    lr_min: float = 1e-7
    weight_decay: float = 0.0
    ema: float = 0.0  # decay of the weight EMA; 0 = off
    grad_clip: float = 1.0
    num_workers: int = 0
    threads: int = 0  # torch intra-op threads; 0 = torch's default


def _log(msg: str) -> None:
    if int(os.environ.get("RANK", "0")) == 0:
        print(msg, file=sys.stderr, flush=True)


def parse_config(cfg: dict[str, Any]) -> tuple[EngagementNetConfig, TrainConfig]:
    """(net, train) configs from a YAML dict {preset: tiny|default, net: {...}, train: {...}}."""
    from reelscore.common.config import config_from_dict

    cfg = dict(cfg or {})
    unknown = sorted(set(cfg) - {"preset", "net", "train"})
    if unknown:
        raise ValueError(f"net config: unknown top-level keys {unknown}; use preset, net, train")
    preset = cfg.get("preset", "default")
    if preset not in ("default", "tiny", "paper"):
        raise ValueError(f"net config: unknown preset {preset!r} (default, tiny, paper)")
    base = dataclasses.asdict(tiny_config() if preset == "tiny" else EngagementNetConfig(**({"d_model": 512, "mlp_hidden": 1024} if preset == "paper" else {})))
    base.update(cfg.get("net") or {})
    return config_from_dict(EngagementNetConfig, base), config_from_dict(TrainConfig, cfg.get("train"))


def _ddp_setup(device: str):
    """Initialise torch.distributed only when launched by torchrun with WORLD_SIZE > 1."""
    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 1, 0, device
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    rank = dist.get_rank()
    if device.startswith("cuda"):
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    return world, rank, device


def _evaluate(net, ds: EngagementDataset, cfg: EngagementNetConfig, targets: list[str], norm: dict, device: str, bs: int) -> dict:
    import torch

    net.eval()
    preds: dict[str, list[np.ndarray]] = {t: [] for t in targets}
    with torch.inference_mode():
        for i in range(0, len(ds), bs):
            b = to_device(collate([ds[j] for j in range(i, min(len(ds), i + bs))], cfg), device)
            o = net(b)
            for t in targets:
                preds[t].append(o[t].float().cpu().numpy())
    out = {}
    Y = np.stack([s["y"] for s in ds.samples]) if len(ds) else np.zeros((0, len(targets)))
    for k, t in enumerate(targets):
        p = np.concatenate(preds[t]) if preds[t] else np.zeros(0)
        y = Y[:, k]
        ok = np.isfinite(y)
        sc = score(p[ok], y[ok]) if ok.sum() >= 3 else {"srcc": float("nan"), "plcc": float("nan"), "final": float("nan"), "n": int(ok.sum())}
        sc["rmse"] = float(np.sqrt(np.mean((p[ok] - y[ok]) ** 2)) * norm[t]["std"]) if ok.any() else float("nan")
        out[t] = sc
    return out


def train_net(
    labels: pd.DataFrame,
    features: str | Path | None,
    out: str | Path,
    cfg: dict[str, Any],
    device: str = "cpu",
    val_split: float | None = None,
    seed: int = 0,
    labels_path: str | Path | None = None,
    curve: bool = True,
) -> dict[str, Any]:
    """Train EngagementNet on a feature store + labels; write the best-validation model to `out`."""
    import torch
    from torch.utils.data import DataLoader

    from reelscore.common.progress import make_progress
    from reelscore.models.losses import masked_mse

    if features is None:
        raise ModelError("--model net needs --features STORE")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError("--device cuda: no CUDA device is available")
    from reelscore.features.store import FeatureStore

    t0 = time.time()
    net_cfg, tr = parse_config(cfg)
    store = FeatureStore(features)
    net_cfg = resolve_inputs(store, net_cfg)
    targets = [t for t in tr.targets if t in labels.columns]
    if not targets:
        raise ModelError(f"labels have none of the targets {tr.targets} (have {list(labels.columns)})")
    world, rank, device = _ddp_setup(device)
    if tr.threads:
        torch.set_num_threads(tr.threads)
    torch.manual_seed(seed)
    inputs = store_inputs(store, net_cfg, [str(v) for v in labels.index])
    if len(inputs) < 2:
        raise ModelError(f"only {len(inputs)} labelled videos have all features {net_cfg.clip_extractors}; need at least 2")
    ids = sorted(inputs)
    rng = np.random.default_rng(seed)
    frac = 0.1 if val_split is None else val_split
    is_val = rng.random(len(ids)) < frac
    if not is_val.any():
        is_val[rng.integers(len(ids))] = True
    if is_val.all():
        raise ModelError(f"--val-split {frac} leaves no training videos")
    train_ids = [v for v, m in zip(ids, is_val) if not m]
    val_ids = [v for v, m in zip(ids, is_val) if m]
    norm = label_norm(labels.loc[train_ids], targets)
    ds_tr = EngagementDataset({v: inputs[v] for v in train_ids}, labels, targets, norm)
    ds_va = EngagementDataset({v: inputs[v] for v in val_ids}, labels, targets, norm)
    _log(f"EngagementNet: {len(ds_tr)} train / {len(ds_va)} val videos; clips from {', '.join(net_cfg.clip_extractors)}; "
         f"text: {net_cfg.text_extractor or 'off'}; targets {', '.join(targets)}; device {device}; world {world}")

    dims = input_dims(ds_tr[0], net_cfg)
    model = EngagementNetModel(net_cfg, dims)
    set_input_norm(model.net, ds_tr.samples, net_cfg)
    net = model.net.to(device)
    ema_net = copy.deepcopy(net) if tr.ema > 0 else None
    train_net_mod = net
    sampler = None
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        from torch.utils.data.distributed import DistributedSampler

        train_net_mod = DDP(net, device_ids=[int(device.split(":")[1])] if device.startswith("cuda") else None)
        sampler = DistributedSampler(ds_tr, num_replicas=world, rank=rank, shuffle=True, seed=seed)
    loader = DataLoader(
        ds_tr, batch_size=tr.batch_size, shuffle=sampler is None, sampler=sampler, num_workers=tr.num_workers,
        collate_fn=functools.partial(collate, cfg=net_cfg), drop_last=False,
        generator=torch.Generator().manual_seed(seed),
    )
    opt = torch.optim.Adam(net.parameters(), lr=tr.lr, weight_decay=tr.weight_decay)
    total = max(1, tr.epochs * len(loader))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=tr.lr_min)
    weights = {t: float(tr.loss_weights.get(t, 1.0)) for t in targets}
    history: dict[str, list[float]] = {"loss": []} | {f"val_srcc_{t}": [] for t in targets}
    best = (-np.inf, None, None, -1)
    with make_progress(disable=None if rank == 0 else True) as prog:
        task = prog.add_task("train EngagementNet", total=tr.epochs, rate="")
        for epoch in range(tr.epochs):
            if sampler is not None:
                sampler.set_epoch(epoch)
            train_net_mod.train()
            losses = []
            for batch in loader:
                batch = to_device(batch, device)
                o = train_net_mod(batch)
                y = batch["y"]
                loss = sum(weights[t] * masked_mse(o[t], y[:, k]) for k, t in enumerate(targets))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if tr.grad_clip:
                    torch.nn.utils.clip_grad_norm_(net.parameters(), tr.grad_clip)
                opt.step()
                sched.step()
                if ema_net is not None:
                    with torch.no_grad():
                        for pe, p in zip(ema_net.parameters(), net.parameters()):
                            pe.lerp_(p, 1.0 - tr.ema)
                        for be, b in zip(ema_net.buffers(), net.buffers()):
                            be.copy_(b)
                losses.append(float(loss.detach()))
            eval_net = ema_net if ema_net is not None else net
            vm = _evaluate(eval_net, ds_va, net_cfg, targets, norm, device, tr.batch_size)
            history["loss"].append(float(np.mean(losses)))
            for t in targets:
                history[f"val_srcc_{t}"].append(vm[t]["srcc"])
            sr = [vm[t]["srcc"] for t in targets if np.isfinite(vm[t]["srcc"])]
            key = float(np.mean(sr)) if sr else -float(history["loss"][-1])
            if key > best[0] or best[1] is None:
                best = (key, copy.deepcopy(eval_net.state_dict()), vm, epoch)
            msg = " ".join(f"{t} {vm[t]['srcc']:.3f}" for t in targets)
            prog.update(task, advance=1, rate=f"loss {history['loss'][-1]:.4f} val SRCC {msg}")
            _log(f"epoch {epoch + 1}/{tr.epochs}: loss {history['loss'][-1]:.4f}  val SRCC {msg}  lr {sched.get_last_lr()[0]:.2e}")
    summary: dict[str, Any] = {}
    if rank == 0:
        net.load_state_dict(best[1])
        model.targets = targets
        model.label_norm = norm
        have = store.extractors()
        model.feature_spec = {n: have[n].get("version") for n in
                              list(net_cfg.clip_extractors) + list(net_cfg.pooled_extractors) + ([net_cfg.text_extractor] if net_cfg.text_extractor else [])}
        model.val_metrics = {t: {"protocol": f"hold-out {frac:g} (seed {seed})", "best_epoch": best[3] + 1, **best[2][t]} for t in targets}
        model.extra["training"] = {
            "labels": str(labels_path) if labels_path else None, "train_videos": len(ds_tr), "val_videos": len(ds_va),
            "seed": seed, "device": device, "world_size": world, "history": history,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": round(time.time() - t0, 1),
        }
        out = Path(out)
        extra_files = {}
        if curve:
            from reelscore.training.plots import plot_curve

            tmp_png = out.parent / f".{out.name}.learning_curve.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            plot_curve(tmp_png, list(range(1, tr.epochs + 1)), {f"val SRCC {t}": history[f"val_srcc_{t}"] for t in targets},
                       "epoch", "EngagementNet learning curve", right={"train loss": history["loss"]}, right_label="loss")
            extra_files["learning_curve.png"] = tmp_png.read_bytes()
            tmp_png.unlink()
        model._extra_files = extra_files
        model.save(out, train_cfg=dataclasses.asdict(tr))
        summary = {"model_dir": str(out), "kind": "net", "targets": targets, "train_videos": len(ds_tr),
                   "val_videos": len(ds_va), "best_epoch": best[3] + 1, "val_metrics": best[2]}
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return summary
