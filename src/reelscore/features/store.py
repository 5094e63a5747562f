"""The feature store: a Parquet dataset per extractor plus a manifest of extractor specs.

Layout of a store directory::

    store.json                                   extractor specs (version, config, dims, names)
    index/<sha1(video_id)>.parquet               video_id, path, media_hash, text_hash
    rows/<extractor>/<spec_id>/<key>.parquet     one row per (content key, extractor, spec)
    errors/<sha1(video_id)>-<extractor>.parquet  video_id, path, extractor, code, message

Every file is written temp-then-rename, one part file per video, so a killed run
leaves no partial file and a rerun skips what exists. `spec_id` is the
extractor version plus a hash of its config: a changed extractor writes to a
new directory and never mixes with old rows. A row's key is the video's content
hash (sha256 of the file) for media extractors and a hash of the text fields
(plus the content hash) for text.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reelscore.common.jsonsafe import json_default

if TYPE_CHECKING:
    import pandas as pd

FORMAT = 1
ERROR_COLUMNS = ["video_id", "path", "extractor", "code", "message"]


def file_hash(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file's bytes (the video's content hash)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def text_key(media_hash: str | None, texts: dict[str, str], extra: dict | None = None) -> str:
    """Content key of a text row: the text fields, the media hash and the specs they depend on."""
    blob = json.dumps({"media": media_hash, "texts": texts, "extra": extra or {}}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def _vid_name(video_id: str) -> str:
    return hashlib.sha1(str(video_id).encode()).hexdigest()


class FeatureStore:
    """Read and write one feature store directory."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    # --- manifest -------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        """Where the extractor specs live."""
        return self.path / "store.json"

    def _manifest(self) -> dict:
        if not self.manifest_path.exists():
            return {"format": FORMAT, "extractors": {}}
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def register(self, specs: list[dict]) -> None:
        """Record extractor specs (the current spec of each name wins)."""
        from reelscore.common.atomic import write_text_atomic

        man = self._manifest()
        for s in specs:
            man["extractors"][s["name"]] = s
        self.path.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.manifest_path, json.dumps(man, indent=1, sort_keys=True, default=str))

    def extractors(self) -> dict[str, dict]:
        """name → {"version", "config", "dim", plus spec_id, clip_dim, feature_names, ...}."""
        return self._manifest()["extractors"]

    def spec(self, name: str) -> dict:
        """The recorded spec of one extractor (KeyError with the known names when absent)."""
        ex = self.extractors()
        if name not in ex:
            raise KeyError(f"{self.path}: no extractor {name!r} in this store; it has {sorted(ex)}")
        return ex[name]

    # --- writing (used by the pipeline, one call per video) --------------
    def row_path(self, name: str, spec_id: str, key: str) -> Path:
        """Part file of one row."""
        return self.path / "rows" / name / spec_id / f"{key}.parquet"

    def has_row(self, name: str, spec_id: str, key: str) -> bool:
        """True when this (key, extractor, spec) row is already stored."""
        return self.row_path(name, spec_id, key).exists()

    def write_row(self, spec: dict, key: str, out: Any) -> Path:
        """Write one extractor output (an ExtractorOutput) atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from reelscore.common.atomic import atomic_path

        pooled = np.asarray(out.pooled, dtype=np.float32).ravel()
        if pooled.size != spec["dim"]:
            raise ValueError(f"{spec['name']}: pooled vector has {pooled.size} values, spec says {spec['dim']}")
        clips = None if out.clips is None else np.asarray(out.clips, dtype=np.float32)
        tokens = None if out.tokens is None else np.asarray(out.tokens, dtype=np.float32)
        row = {
            "content_hash": [key],
            "extractor": [spec["name"]],
            "version": [spec["version"]],
            "spec_id": [spec["spec_id"]],
            "pooled": [pooled.tolist()],
            "clip_starts": [None if out.clip_starts is None else np.asarray(out.clip_starts, np.float64).tolist()],
            "clips": [None if clips is None else clips.ravel().tolist()],
            "clip_dim": [0 if clips is None else int(clips.shape[1])],
            "token_fields": [out.token_fields],
            "tokens": [None if tokens is None else tokens.ravel().tolist()],
            "token_dim": [0 if tokens is None else int(tokens.shape[1])],
            "meta": [json.dumps(out.meta, sort_keys=True, default=json_default)],
        }
        schema = pa.schema(
            [
                ("content_hash", pa.string()),
                ("extractor", pa.string()),
                ("version", pa.string()),
                ("spec_id", pa.string()),
                ("pooled", pa.list_(pa.float32())),
                ("clip_starts", pa.list_(pa.float64())),
                ("clips", pa.list_(pa.float32())),
                ("clip_dim", pa.int32()),
                ("token_fields", pa.list_(pa.string())),
                ("tokens", pa.list_(pa.float32())),
                ("token_dim", pa.int32()),
                ("meta", pa.string()),
            ]
        )
        table = pa.Table.from_pydict(row, schema=schema)
        dest = self.row_path(spec["name"], spec["spec_id"], key)
        with atomic_path(dest) as tmp:
            pq.write_table(table, tmp)
        return dest

    def write_index(self, video_id: str, path: str | None, media_hash: str | None, text_hash: str | None) -> None:
        """Record which content keys a video id maps to."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from reelscore.common.atomic import atomic_path

        # typed as strings even when null, so every index file has one schema
        table = pa.table({"video_id": [str(video_id)], "path": [path], "media_hash": [media_hash], "text_hash": [text_hash]},
                         schema=pa.schema([(c, pa.string()) for c in ("video_id", "path", "media_hash", "text_hash")]))
        dest = self.path / "index" / f"{_vid_name(video_id)}.parquet"
        with atomic_path(dest) as tmp:
            pq.write_table(table, tmp)

    def write_errors(self, video_id: str, path: str | None, extractor: str, code: str, message: str) -> None:
        """Record one error row (replacing an older one for the same video and extractor)."""
        import pandas as pd

        from reelscore.common.atomic import write_table_atomic

        df = pd.DataFrame([[str(video_id), path, extractor, code, message]], columns=ERROR_COLUMNS, dtype=object)
        write_table_atomic(df, self.path / "errors" / f"{_vid_name(video_id)}-{extractor}.parquet")

    def clear_errors(self, video_id: str, extractors: list[str]) -> None:
        """Drop stored errors of a video for these extractors (they succeeded on this run)."""
        for name in extractors:
            p = self.path / "errors" / f"{_vid_name(video_id)}-{name}.parquet"
            p.unlink(missing_ok=True)

    def clean_temp(self) -> int:
        """Delete temp files left by a killed run; returns how many."""
        n = 0
        if not self.path.exists():
            return 0
        for p in self.path.rglob(".*.tmp*"):
            if p.is_file():
                p.unlink(missing_ok=True)
                n += 1
        return n

    # --- reading --------------------------------------------------------
    def _read_dir(self, d: Path, columns: list[str] | None = None):
        import pandas as pd
        import pyarrow.dataset as ds

        if not d.exists() or not any(d.glob("*.parquet")):
            return pd.DataFrame(columns=columns or [])
        import pyarrow as pa

        dataset = ds.dataset(str(d), format="parquet", ignore_prefixes=[".", "_"])
        try:
            return dataset.to_table(columns=columns).to_pandas()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
            # Files written with an all-null column (e.g. a video whose media failed has no media_hash)
            # type it `null`; the first file's schema then refuses the others. Unify across files.
            import pyarrow.parquet as pq

            schema = pa.unify_schemas([pq.read_schema(f) for f in dataset.files], promote_options="permissive")
            dataset = ds.dataset(str(d), format="parquet", ignore_prefixes=[".", "_"], schema=schema)
            return dataset.to_table(columns=columns).to_pandas()

    def index(self) -> pd.DataFrame:
        """video_id, path, media_hash, text_hash of every video the store has seen."""
        df = self._read_dir(self.path / "index", ["video_id", "path", "media_hash", "text_hash"])
        return df.sort_values("video_id").reset_index(drop=True)

    def _rows(self, name: str, columns: list[str]):
        spec = self.spec(name)
        rows = self._read_dir(self.path / "rows" / name / spec["spec_id"], ["content_hash", *columns])
        idx = self.index()
        keycol = "text_hash" if spec.get("key", "media") == "text" else "media_hash"
        merged = idx[["video_id", keycol]].merge(rows, left_on=keycol, right_on="content_hash", how="inner")
        return spec, merged.sort_values("video_id").reset_index(drop=True)

    def pooled(self, extractors: list[str] | None = None) -> pd.DataFrame:
        """Per-video pooled features: index video_id, float columns "<extractor>:<feature>"."""
        import pandas as pd

        names = list(self.extractors()) if extractors is None else list(extractors)
        frames = []
        for name in names:
            spec, rows = self._rows(name, ["pooled"])
            cols = [f"{name}:{f}" for f in spec["feature_names"]]
            mat = np.stack(rows["pooled"].map(lambda v: np.asarray(v, np.float32)).to_list()) if len(rows) else np.zeros((0, len(cols)), np.float32)
            frames.append(pd.DataFrame(mat, index=pd.Index(rows["video_id"].astype(str), name="video_id"), columns=cols))
        if not frames:
            return pd.DataFrame(index=pd.Index([], name="video_id"))
        out = pd.concat(frames, axis=1, join="outer")
        out.index.name = "video_id"
        return out.sort_index()

    def clips(self, extractor: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """video_id → (clip starts [C], clip features [C, D])."""
        spec, rows = self._rows(extractor, ["clip_starts", "clips", "clip_dim"])
        if spec.get("clip_dim") in (None, 0):
            raise ValueError(f"extractor {extractor!r} has no per-clip rows")
        out = {}
        for vid, starts, flat, d in zip(rows["video_id"], rows["clip_starts"], rows["clips"], rows["clip_dim"]):
            s = np.asarray(starts, np.float64)
            out[str(vid)] = (s, np.asarray(flat, np.float32).reshape(len(s), int(d)))
        return out

    def tokens(self, extractor: str = "text") -> dict[str, tuple[list[str], np.ndarray]]:
        """video_id → (token field names, token matrix [F, D])."""
        _, rows = self._rows(extractor, ["token_fields", "tokens", "token_dim"])
        out = {}
        for vid, fields, flat, d in zip(rows["video_id"], rows["token_fields"], rows["tokens"], rows["token_dim"]):
            if fields is None:
                continue
            fields = [str(f) for f in fields]
            out[str(vid)] = (fields, np.asarray(flat, np.float32).reshape(len(fields), int(d)))
        return out

    def meta(self, extractor: str) -> dict[str, dict]:
        """video_id → the extractor's JSON extras (class names, cut times, flags, ...)."""
        _, rows = self._rows(extractor, ["meta"])
        return {str(v): json.loads(m) for v, m in zip(rows["video_id"], rows["meta"])}

    def errors(self) -> pd.DataFrame:
        """Error rows: video_id, path, extractor, code, message."""
        df = self._read_dir(self.path / "errors", ERROR_COLUMNS)
        if df.empty:
            return df.reindex(columns=ERROR_COLUMNS)
        return df.sort_values(["video_id", "extractor"]).reset_index(drop=True)

    def coverage(self) -> pd.DataFrame:
        """Per extractor: spec, number of videos with rows, number with errors."""
        import pandas as pd

        idx = self.index()
        errs = self.errors()
        recs = []
        for name, spec in self.extractors().items():
            _, rows = self._rows(name, [])
            recs.append(
                {
                    "extractor": name,
                    "version": spec["version"],
                    "spec_id": spec["spec_id"],
                    "dim": spec["dim"],
                    "clip_dim": spec.get("clip_dim"),
                    "videos": int(rows["video_id"].nunique()),
                    "of": len(idx),
                    "errors": int((errs["extractor"] == name).sum()) if len(errs) else 0,
                }
            )
        return pd.DataFrame(recs)
