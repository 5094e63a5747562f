"""Training losses shared by the engagement and quality networks (torch)."""

from __future__ import annotations

import torch


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over entries where `mask` is true (and target is finite); 0 when none."""
    valid = torch.isfinite(target)
    if mask is not None:
        valid = valid & mask.bool()
    if not bool(valid.any()):
        # Keep the graph connected so backward() works on an all-missing batch.
        return pred.sum() * 0.0
    diff = pred[valid] - target[valid]
    return (diff * diff).mean()


def plcc_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(1 - Pearson correlation) / 2 over the batch; 0 is perfect, 1 is perfectly anti-correlated."""
    p = pred.reshape(-1).float()
    t = target.reshape(-1).float()
    if p.numel() < 2:
        return p.sum() * 0.0
    p = p - p.mean()
    t = t - t.mean()
    r = (p * t).sum() / (p.norm() * t.norm() + eps)
    return (1.0 - r) / 2.0


def rank_loss(pred: torch.Tensor, target: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """Pairwise hinge rank loss: for every pair with target_i > target_j penalise pred_i - pred_j < margin."""
    p = pred.reshape(-1).float()
    t = target.reshape(-1).float()
    if p.numel() < 2:
        return p.sum() * 0.0
    dp = p[:, None] - p[None, :]
    dt = t[:, None] - t[None, :]
    order = (dt > 0).float()
    n = order.sum()
    if float(n) == 0.0:
        return p.sum() * 0.0
    return (torch.relu(margin - dp) * order).sum() / n


def plcc_rank_loss(pred: torch.Tensor, target: torch.Tensor, rank_weight: float = 0.3) -> torch.Tensor:
    """PLCC loss plus a weighted pairwise rank loss (the NTIRE 2024 S-UGC recipe)."""
    return plcc_loss(pred, target) + rank_weight * rank_loss(pred, target)
