"""The one `reelscore` command. Verbs are thin shells over library functions.

Each area registers its verbs from `reelscore.commands.<area>`; heavy libraries
are imported inside the verb bodies so that `reelscore --help` stays fast.
"""

from __future__ import annotations

import importlib

import typer

from reelscore import __version__


def _flags_without_type() -> None:
    """Show on/off flags as `--json`, not `--json <bool>` (Typer 0.29 prints a type for every option)."""
    import typer.core

    orig = typer.core.TyperOption.display_type_rich
    if getattr(orig, "_reelscore", False):
        return

    def display_type_rich(self, ctx):
        if getattr(self, "is_flag", False) and not getattr(self, "count", False):
            return None
        return orig(self, ctx)

    display_type_rich._reelscore = True
    typer.core.TyperOption.display_type_rich = display_type_rich


_flags_without_type()

app = typer.Typer(
    name="reelscore",
    help=("Predict engagement (ECR, NAWP) and perceptual quality of short-form videos.\n\n"
          "Start here:\n\n"
          "\b\n"
          "  reelscore score clip.mp4 --title 'My title'   (ECR, MOS, timeline, tags)\n"
          "  reelscore score videos/ --workers 2 -o out.csv (a folder, as CSV)\n"
          "  reelscore VERB --help                          (examples for each verb)"),
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(help="Train a model: `reelscore train engagement|quality ...`.", no_args_is_help=True)
app.add_typer(train_app, name="train")

# The main job first (it is what most users came for), then the areas in data-flow order;
# each module defines register(app, train_app).
AREAS = ["scoring", "serve", "media", "labels", "features", "engagement", "quality", "evaluation"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reelscore {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """reelscore: engagement (ECR, NAWP) and quality (MOS) of short-form video.

    \b
    Start here:
      reelscore score clip.mp4 --title "My title"       # ECR, MOS, timeline, tags, with provenance
      reelscore score videos/ --workers 2 -o scores.csv  # a folder, in parallel, as CSV
      reelscore VERB --help                              # every verb has examples
    """


for _area in AREAS:
    try:
        _mod = importlib.import_module(f"reelscore.commands.{_area}")
    except ModuleNotFoundError as exc:  # an area not built yet
        if exc.name != f"reelscore.commands.{_area}":
            raise
        continue
    _mod.register(app, train_app)


def main() -> None:
    """Console entry point: a full disk (or a file-size limit) is one line and exit 1, not a traceback."""
    import errno
    import sys

    try:
        app()
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise
        where = f" writing {exc.filename}" if exc.filename else ""
        # atomic writers have already removed their temp files; nothing partial is left behind
        print(f"error: no room left{where}: {exc.strerror or exc}; nothing partial was kept", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
