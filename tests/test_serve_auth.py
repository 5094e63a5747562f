"""Bearer token, streamed-upload limit and queue bound, on the app in-process (accept-only: no workers)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from reelscore.serve.app import ServeSettings, create_app


@pytest.fixture()
def clip(tmp_path):
    from reelscore.media.synth import make_clip

    return make_clip(tmp_path / "clip.mp4", 2.0, 64, 112, 15, seed=31)


def _post(client, clip, headers=None, title=None):
    with open(clip, "rb") as fh:
        return client.post("/v1/score", files={"file": ("clip.mp4", fh, "video/mp4")},
                           data={"title": title} if title else {}, headers=headers)


def test_token_is_required_on_the_api_when_set(tmp_path, clip):
    app = create_app(ServeSettings(data_dir=tmp_path / "d", workers=0, token="s3cret"))
    with TestClient(app) as c:
        assert c.get("/v1/health").status_code == 200  # liveness stays open for probes
        assert c.get("/").status_code == 200
        r = _post(c, clip)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert "token" in r.json()["error"]["message"]
        assert _post(c, clip, headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = _post(c, clip, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 202
        job = ok.json()["id"]
        assert c.get(f"/v1/jobs/{job}").status_code == 401
        got = c.get(f"/v1/jobs/{job}", headers={"Authorization": "Bearer s3cret"})
        assert got.status_code == 200 and got.json()["status"] == "queued" and got.json()["queue_position"] == 0
        assert c.get(f"/v1/jobs/{job}/frames/0.jpg").status_code == 401
        assert "HTTPBearer" in str(c.get("/openapi.json").json()["components"]["securitySchemes"])


def test_streamed_upload_over_the_limit_is_cut_off(tmp_path):
    app = create_app(ServeSettings(data_dir=tmp_path / "d", workers=0, max_upload_mb=0.25))
    boundary = "XyZ"

    def body():  # no Content-Length: the limit must hold while the bytes arrive
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n"
               "Content-Type: video/mp4\r\n\r\n").encode()
        for _ in range(40):
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    with TestClient(app) as c:
        r = c.post("/v1/score", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert list((tmp_path / "d" / "uploads").iterdir()) == []


def test_queue_bound_gives_503(tmp_path):
    from reelscore.media.synth import make_clip

    app = create_app(ServeSettings(data_dir=tmp_path / "d", workers=0, max_queue=2))
    clips = [make_clip(tmp_path / f"q{i}.mp4", 1.0, 64, 112, 15, seed=40 + i) for i in range(3)]
    with TestClient(app) as c:
        assert [_post(c, p).status_code for p in clips[:2]] == [202, 202]
        r = _post(c, clips[2])
        assert r.status_code == 503 and r.headers["retry-after"] == "10"
        assert _post(c, clips[0]).status_code == 200  # duplicates are still answered
        assert c.get("/v1/health").json()["queue"]["queued"] == 2


def test_second_server_on_the_same_data_dir_is_refused(tmp_path):
    s = ServeSettings(data_dir=tmp_path / "d", workers=0)
    with TestClient(create_app(s)):
        with pytest.raises(RuntimeError, match="another reelscore server"):
            with TestClient(create_app(s)):
                pass
