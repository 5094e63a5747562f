"""The light quality model clips each input feature to its training range before predicting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reelscore.models.quality_light import QualityLightModel, quality_learner_config


def test_inputs_clipped_to_training_range(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(0, 1, size=(30, 3)), columns=["technical:a_mean", "technical:b_mean", "technical:c_mean"],
                     index=[f"v{i}" for i in range(30)])
    y = pd.Series(1.5 + 2.0 * X["technical:a_mean"] + 0.5 * X["technical:b_mean"], index=X.index)
    m = QualityLightModel(quality_learner_config("ridge", ridge_alphas=[1.0])).fit_mos(X, y)
    rngs = m.extra["feature_range"]
    assert np.allclose(rngs["low"], X.min().to_numpy()) and np.allclose(rngs["high"], X.max().to_numpy())

    m.save(tmp_path / "m")
    m2 = QualityLightModel.load(tmp_path / "m")
    far = pd.DataFrame([[50.0, -7.0, 0.5], [np.nan, 0.5, 0.5]], columns=X.columns, index=["far", "nan"])
    edge = pd.DataFrame([[X.iloc[:, 0].max(), X.iloc[:, 1].min(), 0.5]], columns=X.columns, index=["edge"])
    p_far, p_edge = m2.predict_mos(far), m2.predict_mos(edge)
    # A value far outside what training saw predicts as the range's edge would, not an extrapolation.
    assert np.isclose(p_far[0], p_edge[0])
    assert np.isfinite(p_far[1])  # a missing value is still imputed, not turned into a bound
    # Inside the range nothing changes: in-sample predictions track the labels.
    assert np.corrcoef(m2.predict_mos(X), y)[0, 1] > 0.95


def test_predictor_answers_with_a_missing_value_and_names_a_missing_extractor(tmp_path):
    """A single missing value (e.g. no QP exported by an HEVC decoder) is imputed; an extractor that did not
    answer at all, or failed on the video, leaves the video without a value and is named."""
    from reelscore.models.predictor import FeatureRows, Predictor

    rng = np.random.default_rng(1)
    cols = ["technical:a_mean", "technical:b_mean", "bitstream:qp_mean", "bitstream:log2_bpp"]
    X = pd.DataFrame(rng.uniform(0, 1, size=(40, 4)), columns=cols, index=[f"v{i}" for i in range(40)])
    y = pd.Series(2 + X["technical:a_mean"] - X["bitstream:qp_mean"], index=X.index)
    m = QualityLightModel(quality_learner_config("ridge", ridge_alphas=[1.0]))
    m.fit_mos(X, y, {"technical": "2", "bitstream": "1"})
    m.save(tmp_path / "m")
    pred = Predictor.load(tmp_path / "m", task="quality")
    rows = pd.DataFrame([[0.5, 0.5, np.nan, 0.3],       # no QP: imputed
                         [0.5, 0.5, np.nan, np.nan],    # bitstream gave nothing
                         [0.5, 0.5, 0.2, 0.3],          # bitstream failed on this video
                         [0.5, 0.5, 0.2, 0.3]], columns=cols, index=["noqp", "nobits", "failed", "full"])
    out = pred.predict(FeatureRows(ids=list(rows.index), pooled=rows,
                                   failed={"failed": {"bitstream": "corrupt"}, "full": {"audio": "no audio stream"}}))
    v = out.values["MOS"]
    assert np.isfinite(v["noqp"]) and np.isfinite(v["full"])  # an unrelated extractor's failure does not matter
    assert np.isnan(v["nobits"]) and np.isnan(v["failed"])
    assert "bitstream" in out.unavailable["nobits"] and "not extracted" in out.unavailable["nobits"]
    assert "corrupt" in out.unavailable["failed"]
    assert set(out.unavailable) == {"nobits", "failed"}
