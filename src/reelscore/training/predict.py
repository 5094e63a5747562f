"""Generic prediction: a model directory (any registered task/kind) + features or a manifest → `Id,<targets>` CSV."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from reelscore.models.predictor import Predictor
from reelscore.models.registry import ModelError
from reelscore.models.text_features import cache_dir, normalise_text_columns


def read_manifest_any(path: str | Path, videos_dir: str | Path | None = None) -> pd.DataFrame:
    """The features area's manifest reader (video paths optional, SnapUGC layout accepted)."""
    from reelscore.features.manifest import read_manifest

    return read_manifest(path, videos_dir=videos_dir)


def read_text_manifest(path: str | Path) -> pd.DataFrame:
    """A manifest with an id column and text columns (Id,Title,Description[,Caption]) → video_id,path,title,description,caption."""
    from reelscore.common.tables import read_table

    path = Path(path)
    df = normalise_text_columns(read_table(path, role="manifest", error=ModelError))
    if "video_id" not in df.columns:
        raise ModelError(f"{path}: manifest has no id column (`Id` or `video_id`)")
    df["video_id"] = df["video_id"].astype(str).str.strip()
    dup = df["video_id"][df["video_id"].duplicated()]
    if len(dup):
        raise ModelError(f"{path}: duplicate ids in manifest, e.g. {dup.iloc[0]!r}")
    for c in ("path", "title", "description", "caption"):
        if c not in df.columns:
            df[c] = pd.NA
    return df[["video_id", "path", "title", "description", "caption"]]


def _default_store_for(manifest: Path) -> Path:
    digest = hashlib.sha1(str(manifest.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "stores" / digest


def predict(
    model_dir: str | Path,
    features: str | Path | None = None,
    manifest: str | Path | None = None,
    out: str | Path | None = None,
    videos_dir: str | Path | None = None,
    device: str = "cpu",
    workers: int = 1,
    features_table: str | Path | list | None = None,
    clip_checkpoint: str | Path | None = None,
) -> pd.DataFrame:
    """Predict with the model in `model_dir` (or `default`) from a feature store, a manifest and/or a
    bring-your-own features table; write `out` as CSV (atomically)."""
    predictor = Predictor.load(model_dir)
    model = predictor.model
    meta = predictor.meta
    if hasattr(model, "device"):
        model.device = device
    table = None
    if features_table is not None:
        from reelscore.models.feature_table import read_feature_table

        table = read_feature_table(features_table)
    needs_store = getattr(model, "needs_store", True)
    text_only = getattr(model, "text_only", False) or (table is not None and not predictor.extractors_without_table(table))
    if not text_only and manifest is not None and videos_dir is None and hasattr(model, "optional_extractors"):
        # video members are optional: a manifest without video files leaves them absent instead of failing
        from reelscore.common.tables import read_table

        cols = {str(c).strip().lower() for c in read_table(manifest, role="manifest", error=ModelError).columns}
        text_only = "path" not in cols
    mdf = None
    if manifest is not None:
        # A text-only model must not require video files, so it reads the manifest's text columns itself.
        mdf = read_text_manifest(manifest) if text_only else read_manifest_any(manifest, videos_dir)
        if mdf.empty:
            raise ModelError(f"{manifest}: manifest has no rows (only a header)")
    store = None
    if needs_store and not text_only:
        if features is None and mdf is None:
            raise ModelError(f"model {meta['task']}/{meta['kind']} needs --features STORE or --manifest")
        store_path = Path(features) if features is not None else _default_store_for(Path(manifest))
        if mdf is not None:
            from reelscore.features.pipeline import extract

            names = list(predictor.extractors_without_table(table)) if table is not None else list(predictor.extractors)
            options = {}
            if "clip_mean3" in names:
                if clip_checkpoint is None:  # the CLIP member is absent without weights; the others still answer
                    names.remove("clip_mean3")
                else:
                    options["clip_mean3"] = {"checkpoint": str(clip_checkpoint)}
            extract(mdf, store_path, extractors=names or None, workers=workers, device=device, options=options)
        from reelscore.features.store import FeatureStore

        store = FeatureStore(store_path)
    elif features is not None and mdf is None:
        from reelscore.features.store import FeatureStore

        store = FeatureStore(Path(features))
    pred = predictor.predict_source(store=store, manifest=mdf, table=table)
    if out is not None:
        from reelscore.common.atomic import write_table_atomic

        write_table_atomic(pred, out)
    pred.attrs["not_predicted"] = _not_predicted(store, mdf, pred) + _without_value(pred, list(predictor.targets))
    return pred


def _without_value(pred: pd.DataFrame, targets: list[str]) -> list[str]:
    """One line when rows were written without any predicted value (their reason is printed by the model)."""
    import sys

    cols = [c for c in pred.columns if c in set(targets)]
    if not cols or pred.empty:
        return []
    empty = pred[cols].isna().all(axis=1)
    if not empty.any():
        return []
    ids = pred.loc[empty, "Id"].astype(str).tolist() if "Id" in pred.columns else []
    line = (f"no value: {int(empty.sum())} of {len(pred)} rows have no {'/'.join(cols)} "
            f"(first: {ids[0]!r}; the reason is above)" if ids else f"no value: {int(empty.sum())} rows")
    print(line, file=sys.stderr)
    return [line]


def _not_predicted(store, mdf, pred: pd.DataFrame) -> list[str]:
    """One line per video the store holds an error for and the prediction left out (nothing is dropped silently)."""
    import sys

    if store is None:
        return []
    try:
        errs = store.errors()
    except Exception:  # a store without an error table has nothing to report
        return []
    if errs is None or len(errs) == 0 or "video_id" not in errs.columns:
        return []
    wanted = set(mdf["video_id"].astype(str)) if mdf is not None and "video_id" in mdf.columns else None
    done = set(pred["Id"].astype(str)) if "Id" in pred.columns else set()
    lines = []
    for vid, grp in errs.groupby(errs["video_id"].astype(str)):
        if vid in done or (wanted is not None and vid not in wanted):
            continue
        msg = str(grp["message"].iloc[0]) if "message" in grp.columns else "extraction failed"
        lines.append(f"not predicted: {vid}: {msg}")
    for ln in lines:
        print(ln, file=sys.stderr)
    return lines
