"""Media verbs: `reelscore probe` and `reelscore make-test-media`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

PROBE_HELP = """Say what each media file is, or why it is unusable.

Directories are walked (recursively) for video files by extension.

With --json: one JSON object per line per input, with keys path, duration_s, fps, frames, width, height (as displayed, rotation applied), rotation (counter-clockwise degrees), container, video_codec, bit_rate, has_audio, audio_codec, sample_rate, channels; or {"path", "error", "message"} where error is one of not_found, not_a_video, no_video_stream, corrupt, truncated, zero_duration, too_large, unsupported_codec.

Exit status: 0 when all inputs are fine, 1 when any failed (the others are still printed), 2 for a usage error.

\b
Examples:
  reelscore probe clip.mp4
  reelscore probe videos/ --json > probe.jsonl
  reelscore probe a.mp4 b.webm --max-duration-s 60
"""

MAKE_HELP = """Write a set of small synthetic test clips (and broken files) into DIR.

Good clips: H.264/AAC mp4 portrait and landscape, HEVC, VP9/Opus webm, a 90-degree rotation flag, variable frame rate, video-only, a 1-frame clip. Broken: audio-only, audio with cover art, two truncated mp4s, a truncated webm, random bytes, an unknown codec, an empty file, a stream-less mp4, a text file and a PNG image. Every frame carries its index as a bar code (see docs/media.md).

\b
Examples:
  reelscore make-test-media /tmp/media
  reelscore probe /tmp/media --json
"""


def _probe_cmd(
    paths: List[Path] = typer.Argument(..., help="Files or directories to probe.", show_default=False, metavar="PATH"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line instead of a table."),
    max_duration: Optional[float] = typer.Option(None, "--max-duration-s", help="Refuse videos longer than this many seconds (default 3600)."),
    max_duration_old: Optional[float] = typer.Option(None, "--max-duration", hidden=True, help="Deprecated spelling of --max-duration-s."),
    max_pixels: Optional[int] = typer.Option(None, "--max-pixels", help="Refuse frames larger than this many pixels (default 4096*4096)."),
    max_bytes: Optional[int] = typer.Option(None, "--max-bytes", help="Refuse files larger than this (default 4 GiB)."),
) -> None:
    from reelscore.media.errors import MediaError, MediaLimits
    from reelscore.media.discover import find_videos
    from reelscore.media.probe import probe

    limits = MediaLimits()
    if max_duration_old is not None:
        typer.echo("reelscore probe: --max-duration is deprecated, use --max-duration-s", err=True)
        max_duration = max_duration if max_duration is not None else max_duration_old
    if max_duration is not None:
        limits.max_duration_s = max_duration
    if max_pixels is not None:
        limits.max_pixels = max_pixels
    if max_bytes is not None:
        limits.max_file_bytes = max_bytes

    from reelscore.common.progress import track

    # Each input expands to its files, or to an error row for a directory without videos.
    inputs: list[Path | dict] = []
    for given in paths:
        files = list(find_videos([given]))
        if given.is_dir() and not files:
            inputs.append({"path": str(given), "error": "not_found", "message": "no video files in this directory"})
        inputs.extend(files)
    results: list[dict] = []
    # JSON lines stream as they come; the table gets a progress bar on stderr instead.
    items = inputs if as_json or len(inputs) < 20 else track(inputs, "probing", unit="file")
    for item in items:
        if isinstance(item, dict):
            row = item
        else:
            try:
                row = probe(item, limits).to_dict()
            except MediaError as exc:
                row = exc.to_dict()
        results.append(row)
        if as_json:
            typer.echo(json.dumps(row))
    failed = sum("error" in r for r in results)
    if not as_json:
        _print_table(results)
    raise typer.Exit(1 if failed else 0)


def _console():
    from rich.console import Console

    console = Console()
    # Piped output gets a wide table instead of rich's 80-column default.
    return console if console.is_terminal else Console(width=200)


def _print_table(results: list[dict]) -> None:
    from rich.table import Table

    table = Table()
    for col in ["path", "duration", "fps", "frames", "size", "rot", "video", "audio", "container", "kbit/s"]:
        table.add_column(col, overflow="fold")
    errors = []
    for r in results:
        if "error" in r:
            errors.append(r)
            table.add_row(r["path"], f"[red]{r['error']}[/red]", *[""] * 8)
            continue
        audio = f"{r['audio_codec']} {r['sample_rate']} Hz {r['channels']}ch" if r["has_audio"] else "-"
        kbps = f"{r['bit_rate'] / 1000:.0f}" if r["bit_rate"] else "-"
        table.add_row(
            r["path"], f"{r['duration_s']:.3f} s", f"{r['fps']:.3f}", str(r["frames"]),
            f"{r['width']}x{r['height']}", str(r["rotation"]), r["video_codec"], audio,
            r["container"].split(",")[0], kbps,
        )
    console = _console()
    console.print(table)
    for r in errors:
        console.print(f"[red]error[/red] {r['path']}: {r['error']}: {r['message']}", highlight=False, soft_wrap=True)
    console.print(f"{len(results)} input(s): {len(results) - len(errors)} ok, {len(errors)} failed")


def _make_test_media_cmd(
    out_dir: Path = typer.Argument(..., help="Directory to write the clips into (created if missing).", metavar="DIR"),
    seconds: float = typer.Option(2.0, "--seconds", help="Length of each clip."),
) -> None:
    from rich.table import Table

    from reelscore.media.synth import EXPECTED_ERRORS, make_test_media

    media = make_test_media(out_dir, seconds=seconds)
    table = Table()
    table.add_column("name")
    table.add_column("path")
    table.add_column("probe gives")
    for name, path in media.items():
        table.add_row(name, str(path), EXPECTED_ERRORS.get(name, "ok"))
    _console().print(table)
    typer.echo(f"wrote {len(media)} files to {out_dir}")


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add the media verbs to the CLI."""
    app.command("probe", help=PROBE_HELP, no_args_is_help=True)(_probe_cmd)
    app.command("make-test-media", help=MAKE_HELP, no_args_is_help=True)(_make_test_media_cmd)
