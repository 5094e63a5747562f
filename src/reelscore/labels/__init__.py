"""Labels made on the side of the flow: engagement labels from watch logs (AWT, AWP, NAWP, ECR, like rate).

Heavy libraries load lazily; `from reelscore.labels import compute_labels` is cheap.
"""

from __future__ import annotations

from reelscore.labels.fmax import PAPER_FMAX, FMax, fit_fmax, load_fmax, nawp_from_awt
from reelscore.labels.watchlog import OUTPUT_COLUMNS, compute_labels, save_outputs, write_labels
from reelscore.labels.watchlog_source import LogColumns, LogInputError
from reelscore.labels.simulate import simulate_views, video_parameters

__all__ = [
    "PAPER_FMAX",
    "FMax",
    "fit_fmax",
    "load_fmax",
    "nawp_from_awt",
    "OUTPUT_COLUMNS",
    "compute_labels",
    "save_outputs",
    "write_labels",
    "LogColumns",
    "LogInputError",
    "simulate_views",
    "video_parameters",
]
