"""Pan-and-zoom clips over real photos: decodable, right size, and compression shows in the pixels."""

import numpy as np

from reelscore.media import VideoReader, probe
from reelscore.media.synth import make_photo_clip


def test_photo_clip_size_motion_and_crf(tmp_path):
    good = make_photo_clip(tmp_path / "good.mp4", "coffee", seconds=1.0, width=96, height=160, fps=10, crf=18)
    bad = make_photo_clip(tmp_path / "bad.mp4", "coffee", seconds=1.0, width=96, height=160, fps=10, crf=51)
    info = probe(good)
    assert (info.width, info.height) == (96, 160)
    assert abs(info.duration_s - 1.0) < 0.15
    with VideoReader(good) as r:
        frames = [f for _, f in r.iter_frames()]
    with VideoReader(bad) as r:
        bad_frames = [f for _, f in r.iter_frames()]
    assert len(frames) == len(bad_frames) == 10
    # the camera moves: first and last frames differ clearly
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 5
    # CRF 51 loses detail: fewer high-frequency differences between neighbouring pixels
    def detail(fs):
        return float(np.mean([np.abs(np.diff(f.astype(int), axis=1)).mean() for f in fs]))
    assert detail(bad_frames) < 0.8 * detail(frames)
