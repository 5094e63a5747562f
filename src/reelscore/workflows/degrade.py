"""Build a KVQ-style processed set: run each plan through the ffmpeg CLI (x264), label it, pick pairs.

Outputs in OUT: `videos/<name>.mp4`, `labels.csv` (name,source,workflow,steps,qp + labels),
`pairs.csv` (video1,video2,better,homologous), `manifest.csv` (Id,path for
`reelscore extract`), `errors.csv` and `summary.json`. Every file is written atomically;
a bad source or a failed encode is one line in errors.csv and the batch goes on.
"""

from __future__ import annotations

import sys
import json
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reelscore.common.atomic import atomic_path, clean_stale_temps_in, write_table_atomic, write_text_atomic
from reelscore.common.process import killed_with_parent
from reelscore.workflows.plans import Plan, filter_graph, make_plans

LABEL_COLUMNS = ["vmaf", "psnr", "ssim", "mos", "frames_compared"]
BASE_COLUMNS = ["name", "source", "workflow", "steps", "qp", "path", "source_path"]


class DegradeError(RuntimeError):
    """A processing step failed for one input (message names the input and the reason)."""


@dataclass
class DegradeConfig:
    """Parameters of a degrade run (recorded in summary.json)."""

    per_source: int = 6
    seed: int = 0
    label: str = "vmaf"  # vmaf | none
    workers: int = 1
    preset: str = "veryfast"
    audio: bool = True
    vmaf_chunks: int = 6
    vmaf_chunk_len: int = 3
    pairs_per_source: int = 3
    overwrite: bool = False
    capture: int = 0  # extra capture+transcode versions per source (blur, noise, exposure, scaling, frame drops)
    max_duration_s: float | None = None  # keep only the first N seconds of each source
    label_max_side: int | None = 1280  # full-reference labels computed with the longer side capped here
    label_cache: bool = True  # cache labels under ~/.cache/reelscore/fullref by content hash


def ffmpeg_binary() -> str:
    """Path of the ffmpeg CLI, or a clear error."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise DegradeError("ffmpeg: not found on PATH (install ffmpeg with libx264; scripts/setup.sh does)")
    return exe


@dataclass
class SourceInfo:
    """What the filters need to know about a source: displayed size and frame rate (as a fraction)."""

    width: int
    height: int
    fps: str


def ffmpeg_command(
    plan: Plan, source: Path, out: Path, preset: str = "veryfast", audio: bool = True,
    info: SourceInfo | None = None, max_duration_s: float | None = None,
) -> list[str]:
    """The ffmpeg argv that applies a plan's filters and transcodes with x264 at its QP."""
    graph = filter_graph(plan, info.width if info else None, info.height if info else None, info.fps if info else None)
    cmd = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    if max_duration_s:
        cmd += ["-t", f"{float(max_duration_s):.3f}"]
    cmd += ["-i", str(source), "-filter_complex", graph, "-map", "[v]"]
    if audio:
        cmd += ["-map", "0:a:0?", "-c:a", "aac", "-b:a", "128k"]
    # passthrough keeps frames 1:1 with the source so full-reference scores align by index.
    cmd += ["-c:v", "libx264", "-preset", preset, "-qp", str(plan.qp), "-fps_mode", "passthrough", "-movflags", "+faststart", str(out)]
    return cmd


def check_source(path: Path) -> SourceInfo:
    """Displayed size and frame rate of a usable video; raise with a one-line reason otherwise."""
    import av

    from reelscore.media.probe import probe

    info = probe(path)  # raises MediaError with code + reason
    with av.open(str(path), metadata_errors="ignore") as c:
        rate = c.streams.video[0].average_rate or c.streams.video[0].guessed_rate
    fps = f"{rate.numerator}/{rate.denominator}" if rate else f"{info.fps:.6f}"
    return SourceInfo(width=int(info.width), height=int(info.height), fps=fps)


def encode(
    plan: Plan, source: Path, dest: Path, preset: str = "veryfast", audio: bool = True,
    info: SourceInfo | None = None, max_duration_s: float | None = None,
) -> Path:
    """Run one plan; the output appears at `dest` only when ffmpeg succeeded."""
    if info is None and any(("{" in st.filter) for st in plan.steps):
        info = check_source(source)
    with atomic_path(dest) as tmp:
        # a killed run leaves no writer behind; no preexec_fn, which can hang the child under this thread pool
        proc = subprocess.run(killed_with_parent(ffmpeg_command(plan, source, tmp, preset, audio, info, max_duration_s)),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            msg = (proc.stderr or "").strip().splitlines()
            raise DegradeError(f"{source}: ffmpeg failed for {plan.name}: {msg[-1] if msg else 'exit ' + str(proc.returncode)}")
    return dest


def _source_stems(sources: list[Path]) -> dict[Path, str]:
    stems: dict[Path, str] = {}
    used: dict[str, int] = {}
    for s in sources:
        stem = s.stem
        if stem in used:
            used[stem] += 1
            stem = f"{stem}_{used[stem]}"
        else:
            used[stem] = 0
        stems[s] = stem
    return stems


def _previous_labels(out_dir: Path) -> dict[tuple[str, str], dict]:
    path = out_dir / "labels.csv"
    if not path.is_file():
        return {}
    try:
        df = pd.read_csv(path)
    except Exception:
        return {}
    if not set(LABEL_COLUMNS) <= set(df.columns):
        return {}
    return {(r["name"], r["steps"]): {c: r[c] for c in LABEL_COLUMNS} for r in df.to_dict("records")}


def degrade(sources: list[str | Path], out_dir: str | Path, cfg: DegradeConfig | None = None) -> dict:
    """Process every source with KVQ workflows into `out_dir`; returns the run summary."""
    from reelscore.common.progress import track

    cfg = cfg or DegradeConfig()
    if cfg.label not in {"vmaf", "none"}:
        raise ValueError(f"--label {cfg.label}: expected vmaf or none")
    ffmpeg_binary()
    out_dir = Path(out_dir)
    vid_dir = out_dir / "videos"
    vid_dir.mkdir(parents=True, exist_ok=True)
    for d in (out_dir, vid_dir):  # temps of a run killed mid-write (its ffmpeg may have finished after it)
        clean_stale_temps_in(d)
    src_paths = [Path(s).expanduser() for s in sources]
    stems = _source_stems(src_paths)
    errors: list[dict] = []
    jobs: list[tuple[Plan, Path]] = []
    infos: dict[Path, SourceInfo] = {}
    for src in src_paths:
        try:
            infos[src] = check_source(src)
        except Exception as exc:  # MediaError / DegradeError: one line, batch goes on
            line = str(exc) if str(src) in str(exc) else f"{src}: {exc}"
            errors.append({"source": str(src), "name": "", "stage": "source", "message": line})
            print(f"skipped: {line}", file=sys.stderr)
            continue
        for plan in make_plans(stems[src], stems[src], cfg.per_source, cfg.seed, cfg.capture):
            jobs.append((plan, src))

    previous = {} if cfg.overwrite else _previous_labels(out_dir)
    lock = threading.Lock()
    rows: list[dict] = []

    def run(plan: Plan, src: Path) -> dict:
        dest = vid_dir / plan.name
        if cfg.overwrite or not dest.is_file():
            encode(plan, src, dest, cfg.preset, cfg.audio, infos[src], cfg.max_duration_s)
        row = {
            "name": plan.name, "source": plan.source, "workflow": plan.workflow, "steps": plan.steps_text(),
            "qp": plan.qp, "path": f"videos/{plan.name}", "source_path": str(src.resolve()),
        }
        if cfg.label == "vmaf":
            prev = previous.get((plan.name, row["steps"]))
            if prev is not None:
                row.update(prev)
            else:
                from reelscore.workflows.fullref import cached_fullref_scores

                row.update(cached_fullref_scores(src, dest, cfg.vmaf_chunks, cfg.vmaf_chunk_len, cfg.label_max_side, cfg.label_cache).to_dict())
        return row

    with ThreadPoolExecutor(max_workers=max(1, cfg.workers)) as pool:
        futs = {pool.submit(run, p, s): (p, s) for p, s in jobs}
        for fut in track(as_completed(futs), "degrade", total=len(futs), unit="video"):
            plan, src = futs[fut]
            try:
                row = fut.result()
            except Exception as exc:
                line = str(exc) if str(src) in str(exc) else f"{src}: {plan.name}: {exc}"
                errors.append({"source": str(src), "name": plan.name, "stage": "process", "message": line})
                print(f"failed: {line}", file=sys.stderr)
                continue
            with lock:
                rows.append(row)

    cols = BASE_COLUMNS + (LABEL_COLUMNS if cfg.label == "vmaf" else [])  # `Id` (name without .mp4) goes first
    labels = pd.DataFrame(rows, columns=cols).sort_values("name").reset_index(drop=True)
    write_table_atomic(labels, out_dir / "labels.csv")
    labels.insert(0, "Id", labels["name"].map(lambda n: Path(n).stem))
    manifest = pd.DataFrame({"Id": labels["Id"], "path": [str((out_dir / p).resolve()) for p in labels["path"]]})
    write_table_atomic(manifest, out_dir / "manifest.csv")
    n_pairs = {"homologous": 0, "non_homologous": 0}
    if cfg.label == "vmaf" and len(labels) >= 2:
        from reelscore.workflows.pairs import make_pairs

        pairs = make_pairs(labels, "mos", per_source=cfg.pairs_per_source, seed=cfg.seed)
        write_table_atomic(pairs, out_dir / "pairs.csv")
        n_pairs = {"homologous": int(pairs["homologous"].sum()), "non_homologous": int((1 - pairs["homologous"]).sum())}
    write_table_atomic(pd.DataFrame(errors, columns=["source", "name", "stage", "message"]), out_dir / "errors.csv")
    summary = {
        "out": str(out_dir),
        "sources": len(src_paths),
        "sources_failed": sum(1 for e in errors if e["stage"] == "source"),
        "videos": len(labels),
        "videos_failed": sum(1 for e in errors if e["stage"] == "process"),
        "pairs": n_pairs,
        "config": cfg.__dict__,
        "label_note": "vmaf/psnr/ssim are full-reference scores against the source; mos = 1 + 4*vmaf/100 "
        "clipped to [1,5] is a proxy for human MOS, not a subjective score" if cfg.label == "vmaf" else "unlabelled",
    }
    if cfg.label == "vmaf" and len(labels):
        summary["vmaf_range"] = [float(labels["vmaf"].min()), float(labels["vmaf"].max())]
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
