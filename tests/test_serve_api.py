"""The HTTP API against a real `reelscore serve` process (loopback, free port, 1 worker)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import httpx
import pytest

from serve_helpers import submit, wait_job

pytest_plugins = ["serve_fixtures"]

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def client(live_server):
    with httpx.Client(base_url=live_server.url, timeout=30.0) as c:
        yield c


def test_health_and_openapi(client):
    h = client.get("/v1/health").json()
    assert h["status"] == "ok" and h["workers"]["ready"] == 1 and h["auth"] is False
    assert h["limits"]["max_duration_s"] == 6
    spec = client.get("/openapi.json").json()
    assert "/v1/score" in spec["paths"] and "/v1/jobs/{job_id}" in spec["paths"]
    form = spec["paths"]["/v1/score"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in form


def test_score_job_gives_the_score_cli_object(client, live_server, serve_clips, tmp_path):
    clip = serve_clips["portrait"]
    title, desc = "Skills for midfielders  football", "Drag to heel | subscribe"
    r = submit(client, clip, title=title, description=desc)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] in ("queued", "running") and body["duplicate"] is False
    assert r.headers["location"] == f"/v1/jobs/{body['id']}"
    assert body["info"]["width"] == 64 and body["info"]["height"] == 112

    job = wait_job(client, body["id"])
    assert job["status"] == "done", job
    res = job["result"]
    assert res["ok"] is True and job["error"] is None and job["attempts"] == 1

    # The same file through `reelscore score --json` gives the same object, except the names.
    env = dict(os.environ, REELSCORE_NO_PROGRESS="1")
    cli = subprocess.run([sys.executable, "-m", "reelscore", "score", str(clip), "--title", title,
                          "--description", desc, "--json"], capture_output=True, text=True, env=env, timeout=240)
    assert cli.returncode == 0, cli.stderr
    ref = json.loads(cli.stdout.strip().splitlines()[-1])
    for key in ("video_id", "path", "timing_s"):
        res.pop(key), ref.pop(key)
    assert res.keys() == ref.keys()
    assert json.dumps(res, sort_keys=True) == json.dumps(ref, sort_keys=True)

    # Thumbnails: real JPEGs of the displayed (portrait) frame.
    from PIL import Image

    assert 1 <= len(job["frames"]) <= 4
    img = client.get(job["frames"][0])
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    im = Image.open(io.BytesIO(img.content))
    assert im.format == "JPEG" and im.height > im.width
    assert client.get(f"/v1/jobs/{body['id']}/frames/99.jpg").status_code == 404


def test_resubmission_is_idempotent(client, serve_clips):
    clip = serve_clips["landscape"]
    first = submit(client, clip, title="same")
    assert first.status_code == 202
    again = submit(client, clip, title="same", filename="renamed.mp4")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    other = submit(client, clip, title="a different title")
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]
    for j in (first.json()["id"], other.json()["id"]):
        assert wait_job(client, j)["status"] == "done"


def test_clip_without_audio_is_scored(client, serve_clips):
    r = submit(client, serve_clips["silent"], title="no sound here")
    assert r.status_code == 202
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "done" and job["result"]["info"]["has_audio"] is False


@pytest.mark.parametrize(
    "name, content_type, code",
    [
        ("text_file", "text/plain", "unsupported_media_type"),
        ("image_png", "image/png", "unsupported_media_type"),
        ("text_file", "video/mp4", None),
        ("image_png", "application/octet-stream", None),
        ("audio_only", "video/mp4", None),
        ("truncated", "video/mp4", None),
        ("corrupt", "video/mp4", None),
        ("empty", "video/mp4", "empty"),
    ],
)
def test_bad_uploads_are_refused_before_queuing(client, test_media, name, content_type, code):
    from reelscore.media.synth import EXPECTED_ERRORS
    from reelscore.serve.app import UNSUPPORTED_CODES

    code = code or EXPECTED_ERRORS[name]  # the media layer's verdict, passed through
    status = 415 if code in UNSUPPORTED_CODES | {"unsupported_media_type"} else 422
    before = client.get("/v1/health").json()["queue"]
    r = submit(client, test_media[name], content_type=content_type)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    assert client.get("/v1/health").json()["queue"] == before


def test_duration_and_size_limits(client, serve_clips, tmp_path):
    r = submit(client, serve_clips["long"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_long"
    assert "6 s" in r.json()["error"]["message"]
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(1024 * 1024 + 10))
    r = submit(client, big)
    assert r.status_code == 413 and "1 MB" in r.json()["error"]["message"]


def test_stored_files_are_named_by_the_server(client, live_server, serve_clips):
    r = submit(client, serve_clips["portrait"], title="path games", filename="../../../etc/evil name.mp4")
    assert r.status_code == 202
    job = wait_job(client, r.json()["id"])
    stored = live_server.data_dir / job["result"]["path"]
    assert stored.parent == live_server.data_dir / "uploads"
    assert stored.name == f"{job['sha256']}.mp4"
    assert not any("evil" in p.name for p in live_server.data_dir.rglob("*"))


def test_unknown_jobs_are_404(client):
    assert client.get("/v1/jobs/" + "0" * 32).status_code == 404
    assert client.get("/v1/jobs/../../etc/passwd").status_code == 404
    assert client.get("/v1/jobs/not-a-job").json()["error"]["code"] == "not_found"


def test_web_page_is_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200
    text = page.text + client.get("/static/app.js").text + client.get("/static/style.css").text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text


def test_latin1_title_is_read_as_latin1_not_dropped(client, serve_clips):
    """A form field whose bytes are not UTF-8 (a Latin-1 client) is decoded as Latin-1 (Starlette's fallback):
    the title arrives whole, the job runs, nothing is replaced or dropped."""
    clip = serve_clips["landscape"]
    boundary = "rsboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n").encode() + "café au lait".encode("latin-1") \
        + (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.mp4\"\r\n"
           "Content-Type: video/mp4\r\n\r\n").encode() + clip.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    r = client.post("/v1/score", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code in (200, 202), (r.status_code, r.text)
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "done"
    assert "café au lait" in json.dumps(job, ensure_ascii=False)


def test_a_request_without_the_file_field_is_one_clear_422_and_unknown_fields_are_ignored(client, serve_clips):
    """The 'wrong columns' of a form: no `file` part is refused with the field named; an extra field does not matter."""
    before = client.get("/v1/health").json()["queue"]
    r = client.post("/v1/score", data={"title": "no file here"})
    assert r.status_code == 422, r.text
    assert "file" in r.text
    assert client.get("/v1/health").json()["queue"] == before
    with open(serve_clips["portrait"], "rb") as fh:
        r = client.post("/v1/score", files={"file": ("c.mp4", fh, "video/mp4")},
                        data={"title": "extra field", "rating": "5", "colour": "blue"})
    assert r.status_code in (200, 202), r.text
    assert wait_job(client, r.json()["id"])["status"] == "done"


def test_a_title_that_reads_like_a_number_stays_text(client, serve_clips):
    """'NaN' and 'inf' in a form field are a user's words, not numbers: they reach the result as written."""
    r = submit(client, serve_clips["landscape"], title="NaN", description="inf")
    assert r.status_code in (200, 202), r.text
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "done"
    assert job["result"]["title"] == "NaN" and job["result"]["description"] == "inf"
