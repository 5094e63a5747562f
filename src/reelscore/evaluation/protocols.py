"""The official challenge protocols: file layout, value range and final-score formula of each."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Protocol:
    """How one challenge lays out its files and combines metrics into its final score."""

    name: str
    title: str
    id_column: str
    targets: tuple[str, ...]
    header: str  # "required" or "optional"
    value_range: tuple[float, float] | None
    final_weights: dict[str, float] | None = None  # metric name -> weight; finals use raw SRCC/PLCC
    id_aliases: tuple[str, ...] = ()
    value_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # target -> other accepted header names
    any_target_subset: bool = False  # snapugc: NAWP, ECR or both
    rank_pairs: bool = False  # kvq: Rank1 (homologous) / Rank2 (non-homologous)
    truth_duration_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def formula(self) -> str | None:
        """The final score as text, e.g. '0.6*SRCC + 0.4*PLCC'."""
        if not self.final_weights:
            return None
        return " + ".join(f"{w:g}*{m}" for m, w in self.final_weights.items())


PROTOCOLS: dict[str, Protocol] = {
    "evqa": Protocol(
        name="evqa",
        title="VQualA 2025 EVQA-SnapUGC (engagement: ECR)",
        id_column="Id",
        targets=("ECR",),
        header="required",
        value_range=(0.0, 1.0),
        final_weights={"SRCC": 0.6, "PLCC": 0.4},
        id_aliases=("id",),
    ),
    "kvq": Protocol(
        name="kvq",
        title="NTIRE 2024 S-UGC VQA / KVQ (quality: MOS)",
        id_column="filename",
        targets=("score",),
        header="optional",
        value_range=(0.0, 5.0),
        final_weights={"SRCC": 0.45, "PLCC": 0.45, "Rank1": 0.05, "Rank2": 0.05},
        # reelscore's own files (`predict` writes Id,MOS; `degrade` writes name,...,mos) are accepted as is
        id_aliases=("id", "name", "video_id"),
        value_aliases={"score": ("mos",)},
        rank_pairs=True,
    ),
    "snapugc": Protocol(
        name="snapugc",
        title="SnapUGC engagement (ECCV 2024, Table 3: NAWP and ECR)",
        id_column="Id",
        targets=("NAWP", "ECR"),
        header="required",
        value_range=(0.0, 1.0),
        id_aliases=("id", "video_id"),
        any_target_subset=True,
        truth_duration_columns=("duration_s", "video_len"),
    ),
}

ALIASES = {"ntire2024": "kvq", "ntire": "kvq", "vquala": "evqa", "vquala2025": "evqa"}


def get_protocol(name: str) -> Protocol:
    """Protocol by name or alias (evqa, kvq, ntire2024, snapugc)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in PROTOCOLS:
        known = sorted([*PROTOCOLS, *ALIASES])
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(known)}")
    return PROTOCOLS[key]
