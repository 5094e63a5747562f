"""Evaluation: metrics with bootstrap intervals, official challenge protocols, submission checks, reports.

Main entry: `evaluate(protocol, pred_path, truth_path, pairs=None, durations=None, report_dir=None, ...)`.
"""

from reelscore.evaluation.api import EvalData, evaluate, to_jsonable
from reelscore.evaluation.metrics import (
    DEFAULT_DURATION_EDGES,
    duration_groups,
    fit_logistic4,
    grouped_srcc,
    krcc,
    logistic4,
    pair_accuracy,
    plcc,
    plcc_logistic4,
    rmse,
    rmse_top_k,
    srcc,
)
from reelscore.evaluation.pairs import Pairs, read_pairs
from reelscore.evaluation.protocols import PROTOCOLS, Protocol, get_protocol
from reelscore.evaluation.submission import SubmissionError, normalize_id, read_scores

__all__ = [
    "evaluate",
    "EvalData",
    "to_jsonable",
    "SubmissionError",
    "PROTOCOLS",
    "Protocol",
    "get_protocol",
    "read_scores",
    "read_pairs",
    "Pairs",
    "normalize_id",
    "srcc",
    "plcc",
    "krcc",
    "rmse",
    "logistic4",
    "fit_logistic4",
    "plcc_logistic4",
    "rmse_top_k",
    "duration_groups",
    "grouped_srcc",
    "pair_accuracy",
    "DEFAULT_DURATION_EDGES",
]
