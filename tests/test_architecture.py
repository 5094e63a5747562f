"""The house rules, checked on the code: no import circles, no reaching up the data flow, one video reader."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "reelscore"

# the data flow, earliest first; a module may import only from its own area or earlier ones
LAYERS = ["common", "media", "labels", "features", "models", "training", "evaluation", "workflows",
          "scoring", "serve", "commands", "cli"]


def _modules() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """reelscore modules imported anywhere in the file (function-level imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rsplit(".", 1)[0] if "." in t else ""
            if t and t.startswith("reelscore") and t != name:
                out.add(t)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    g = {}
    for name, path in mods.items():
        # a submodule naming its own package (e.g. to list its siblings) is not a dependency circle
        g[name] = {t for t in _imports(path, name, known) if not name.startswith(t + ".")}
    return g


def test_no_import_circles():
    g = _graph()
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    import sys

    sys.setrecursionlimit(10000)
    for v in g:
        if v not in index:
            visit(v)
    assert sccs == [], f"import circles: {sccs}"


def _area(mod: str) -> str | None:
    parts = mod.split(".")
    if len(parts) < 2:
        return None
    return parts[1]


def test_no_module_reaches_up_the_flow():
    bad = []
    for mod, deps in _graph().items():
        a = _area(mod)
        if a not in LAYERS:
            continue
        for d in deps:
            b = _area(d)
            if b in LAYERS and LAYERS.index(b) > LAYERS.index(a):
                bad.append(f"{mod} -> {d}")
    assert bad == [], "modules importing a later stage: " + "; ".join(sorted(bad))


def test_one_video_reader_outside_media():
    """Outside media/, only the analysis opens a video reader (score, extract, thumbnails, KSVQE share it)."""
    openers = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                     if "VideoReader(" in p.read_text(encoding="utf-8") and p.relative_to(SRC).parts[0] != "media")
    assert openers == ["features/analysis.py"]


def test_no_preexec_fn_anywhere():
    """A `preexec_fn` runs Python between fork and exec; with other threads alive the child can hang on a lock
    (it stalled CI past its 90 min under degrade's thread pool). Use common.process.killed_with_parent instead."""
    roots = [SRC, SRC.parents[1] / "tests", SRC.parents[1] / "bench"]
    users = sorted(str(p.relative_to(SRC.parents[1])) for r in roots for p in r.rglob("*.py")
                   if p.name != "test_architecture.py" and "preexec_fn=" in p.read_text(encoding="utf-8"))
    assert users == []


@pytest.mark.parametrize("pkg", sorted(p.parent.name for p in SRC.glob("*/__init__.py")))
def test_each_package_says_what_it_holds(pkg):
    doc = ast.get_docstring(ast.parse((SRC / pkg / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc.splitlines()[0]) > 10
