"""deepstats against the library's own forward pass (hooks) on independently decoded frames."""

from __future__ import annotations

import numpy as np


def test_matches_hooks_on_the_librarys_forward(tmp_path):
    import av
    import torch

    from reelscore.features.analysis import Analyzer
    from reelscore.features.deepstats import CHANNELS, TAPS
    from reelscore.features.semantic import load_efficientnet_lite0
    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "d.mp4", seconds=2.0, width=240, height=320, fps=10, seed=4, crf=35)
    an = Analyzer.from_names(["deepstats"], options={"deepstats": {"frames": 3, "crop": 96}})
    res = an.analyze(str(clip))
    assert res.errors == {}
    got = res.outputs["deepstats"].pooled
    assert got.shape == (2 * sum(CHANNELS.values()),) == (len(an.extractors["deepstats"].feature_names()),)

    with av.open(str(clip)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    idx = np.linspace(0, len(frames) - 1, 3).astype(int)
    crops = np.stack([frames[i][112:208, 72:168] for i in idx]).astype(np.float32)  # 320x240 → centred 96
    x = torch.from_numpy((crops - 127.0) / 128.0).permute(0, 3, 1, 2)
    model = load_efficientnet_lite0("cpu")
    seen: dict = {}
    hooks = [model._blocks[i].register_forward_hook(lambda m, a, o, i=i: seen.setdefault(i, o)) for i in CHANNELS if i != "stem"]
    hooks.append(model._swish.register_forward_hook(lambda m, a, o: seen.setdefault("stem", o)))  # first call: the stem
    with torch.no_grad():
        model.extract_features(x)
    for h in hooks:
        h.remove()
    want = []
    for t in TAPS:
        v = seen[t]
        want += [v.mean(dim=(2, 3)).mean(0).numpy(), v.std(dim=(2, 3), unbiased=False).mean(0).numpy()]
    np.testing.assert_allclose(got, np.concatenate(want), rtol=1e-4, atol=1e-5)


def test_small_frames_are_upscaled_to_the_crop(tmp_path):
    from reelscore.features.deepstats import centre_crop

    assert centre_crop(np.zeros((64, 112, 3), np.uint8), 96).shape == (96, 96, 3)
    f = np.arange(300 * 200 * 3, dtype=np.uint32).reshape(300, 200, 3).astype(np.uint8)
    np.testing.assert_array_equal(centre_crop(f, 100), f[100:200, 50:150])


def test_fragstats_reads_native_patches_of_every_cell(tmp_path):
    """fragment_mosaic takes the centred native patch of each grid cell (hand-computed corners),
    and fragstats equals deepstats' network statistics on those mosaics."""
    import av
    import torch

    from reelscore.features.analysis import Analyzer
    from reelscore.features.deepstats import TAPS, tap_statistics
    from reelscore.features.semantic import load_efficientnet_lite0
    from reelscore.media.samplers import fragment_mosaic
    from reelscore.media.synth import make_clip

    f = np.random.default_rng(0).integers(0, 255, (300, 420, 3)).astype(np.uint8)
    m = fragment_mosaic(f, grid=3, size=40)
    # cells are 100 x 140: the centred 40-px patch starts at (30, 50) inside each cell
    for i in range(3):
        for j in range(3):
            np.testing.assert_array_equal(m[i * 40:(i + 1) * 40, j * 40:(j + 1) * 40],
                                          f[i * 100 + 30:i * 100 + 70, j * 140 + 50:j * 140 + 90])
    assert fragment_mosaic(np.zeros((50, 60, 3), np.uint8), 3, 40).shape == (120, 120, 3)

    clip = make_clip(tmp_path / "f.mp4", seconds=2.0, width=240, height=320, fps=10, seed=5, crf=30)
    an = Analyzer.from_names(["fragstats"], options={"fragstats": {"frames": 2, "grid": 4, "patch": 24}})
    res = an.analyze(str(clip))
    assert res.errors == {}
    with av.open(str(clip)) as c:
        frames = [fr.to_ndarray(format="rgb24") for fr in c.decode(video=0)]
    idx = np.linspace(0, len(frames) - 1, 2).astype(int)
    mos = np.stack([fragment_mosaic(frames[i], 4, 24) for i in idx]).astype(np.float32)
    stats = tap_statistics(load_efficientnet_lite0("cpu"), torch.from_numpy((mos - 127.0) / 128.0).permute(0, 3, 1, 2))
    want = np.concatenate([p for t in TAPS for p in (stats[t][0].mean(0), stats[t][1].mean(0))])
    np.testing.assert_allclose(res.outputs["fragstats"].pooled, want, rtol=1e-4, atol=1e-5)
