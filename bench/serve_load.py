"""Load and crash benchmark of `reelscore serve` on a local server (127.0.0.1 only).

    .venv/bin/python bench/serve_load.py [MEDIA_DIR] [--n 18] [--concurrency 6] [--workers 1] [--kill]

Load run: N uploads of the clips in MEDIA_DIR (default /work/shared/media/snapugc),
sent by `--concurrency` client threads; each upload carries its own title so each
is a distinct job (the file content repeats; the server stores it once). Reports
throughput, upload and end-to-end latency (p50/p95), the peak memory of the server
and its workers, and checks that no job was lost or completed twice (SQLite
events). Then re-submits a few uploads and checks they map to the same jobs.

`--kill`: submits N jobs, SIGKILLs the server once a third are done, restarts it,
and checks that every job completes exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

HOST = "127.0.0.1"
VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".mkv"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, workers: int, model_args: list[str] | None = None):
        self.data_dir, self.workers = data_dir, workers
        self.model_args = list(model_args or [])
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout_s: float = 300) -> float:
        port = free_port()
        self.url = f"http://{HOST}:{port}"
        t0 = time.perf_counter()
        log = open(self.data_dir.parent / "server.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reelscore", "serve", "--host", HOST, "--port", str(port), "--data-dir",
             str(self.data_dir), "--workers", str(self.workers), "--log-level", "warning", "--max-queue", "1000", *self.model_args],
            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, REELSCORE_NO_PROGRESS="1"))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                h = httpx.get(f"{self.url}/v1/health", timeout=2).json()
                if h["workers"]["ready"] >= self.workers:
                    return time.perf_counter() - t0
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.3)
        raise TimeoutError("server did not become ready")

    def tree(self) -> list[psutil.Process]:
        try:
            p = psutil.Process(self.proc.pid)
            return [p, *p.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> float:
        total = 0
        for p in self.tree():
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / 2**20

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def load_titles(media: Path) -> dict[str, str]:
    meta = media / "metadata.csv"
    if not meta.exists():
        return {}
    import csv

    with open(meta, newline="", encoding="utf-8") as fh:
        return {r["Id"]: r.get("Title") or "" for r in csv.DictReader(fh)}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def submit(client: httpx.Client, clip: Path, title: str) -> tuple[str, float, int]:
    t0 = time.perf_counter()
    with open(clip, "rb") as fh:
        r = client.post("/v1/score", files={"file": (clip.name, fh, "video/mp4")}, data={"title": title}, timeout=120)
    if r.status_code not in (200, 202):
        raise RuntimeError(f"upload {clip.name}: HTTP {r.status_code}: {r.text[:200]}")
    return r.json()["id"], time.perf_counter() - t0, r.status_code


def wait_done(client: httpx.Client, job_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            job = client.get(f"/v1/jobs/{job_id}", timeout=30).json()
            if job["status"] in ("done", "failed"):
                return job
        except httpx.HTTPError:
            pass  # the server may be down for a restart; keep polling until the deadline
        time.sleep(0.25)
    raise TimeoutError(f"job {job_id} unfinished after {timeout_s} s")


def exactly_once(db: Path, ids: list[str]) -> dict:
    con = sqlite3.connect(db)
    comp = dict(con.execute("SELECT id, completions FROM jobs").fetchall())
    finals = dict(con.execute("SELECT job_id, COUNT(*) FROM events WHERE event IN ('done','failed') GROUP BY job_id").fetchall())
    requeued = con.execute("SELECT COUNT(*) FROM events WHERE event='requeued'").fetchone()[0]
    stale = con.execute("SELECT COUNT(*) FROM events WHERE event='stale_finish_ignored'").fetchone()[0]
    con.close()
    lost = [j for j in ids if comp.get(j, 0) == 0]
    dup = [j for j in ids if comp.get(j, 0) > 1 or finals.get(j, 0) > 1]
    return {"jobs": len(ids), "distinct": len(set(ids)), "lost": len(lost), "completed_twice": len(dup),
            "requeued_runs": requeued, "stale_finishes": stale}


def run_load(media: list[Path], titles: dict, n: int, conc: int, workers: int, tmp: Path, margs: list[str]) -> dict:
    srv = Server(tmp / "data", workers, margs)
    ready_s = srv.start()
    peak = [srv.rss_mb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            peak.append(srv.rss_mb())

    threading.Thread(target=sample, daemon=True).start()
    plan = [(media[i % len(media)], f"{titles.get(media[i % len(media)].stem, '')} #{i}") for i in range(n)]
    up, e2e, ids = [], [], []
    lock = threading.Lock()

    def one(item):
        clip, title = item
        with httpx.Client(base_url=srv.url) as c:
            t0 = time.perf_counter()
            jid, dt, _ = submit(c, clip, title)
            job = wait_done(c, jid, 1800)
            with lock:
                up.append(dt)
                e2e.append(time.perf_counter() - t0)
                ids.append(jid)
            return job

    t0 = time.perf_counter()
    with ThreadPoolExecutor(conc) as ex:
        jobs = list(ex.map(one, plan))
    wall = time.perf_counter() - t0
    # Idempotence under load: the same uploads again map to the same jobs.
    with httpx.Client(base_url=srv.url) as c:
        again = [submit(c, clip, title) for clip, title in plan[:4]]
    stop.set()
    srv.stop()
    checks = exactly_once(tmp / "data" / "jobs.sqlite3", ids)
    checks["resubmits_same_job"] = all(a[0] == ids_ for a, ids_ in zip(again, [jobs[i]["id"] for i in range(4)])) and all(a[2] == 200 for a in again)
    scoring = [j["finished_at"] - j["started_at"] for j in jobs]
    return {
        "workers": workers, "uploads": n, "concurrency": conc, "clips": len(media), "server_ready_s": round(ready_s, 1),
        "wall_s": round(wall, 1), "throughput_jobs_per_min": round(60 * n / wall, 2),
        "upload_p50_s": round(pct(up, 0.5), 3), "upload_p95_s": round(pct(up, 0.95), 3),
        "e2e_p50_s": round(pct(e2e, 0.5), 1), "e2e_p95_s": round(pct(e2e, 0.95), 1),
        "scoring_per_job_p50_s": round(statistics.median(scoring), 2),
        "peak_rss_mb": round(max(peak), 0), "done": sum(j["status"] == "done" for j in jobs), **checks,
    }


def run_kill(media: list[Path], titles: dict, n: int, workers: int, tmp: Path, margs: list[str]) -> dict:
    srv = Server(tmp / "kdata", workers, margs)
    srv.start()
    with httpx.Client(base_url=srv.url) as c:
        ids = [submit(c, media[i % len(media)], f"kill run #{i}")[0] for i in range(n)]
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            states = [c.get(f"/v1/jobs/{j}").json()["status"] for j in ids]
            if states.count("done") >= max(1, n // 3):
                break
            time.sleep(0.2)
    workers_before = [p.pid for p in srv.tree()[1:]]
    srv.kill()
    t_kill = time.perf_counter()
    time.sleep(1.0)
    orphans = [p for p in workers_before if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    restart_s = srv.start()
    with httpx.Client(base_url=srv.url) as c:
        jobs = [wait_done(c, j, 1800) for j in ids]
    recover_s = time.perf_counter() - t_kill
    srv.stop()
    res = exactly_once(tmp / "kdata" / "jobs.sqlite3", ids)
    res.update({"workers": workers, "done_before_kill": states.count("done"), "running_at_kill": states.count("running"),
                "queued_at_kill": states.count("queued"), "orphan_workers_after_kill": len(orphans),
                "restart_ready_s": round(restart_s, 1), "kill_to_all_done_s": round(recover_s, 1),
                "done": sum(j["status"] == "done" for j in jobs)})
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("media", nargs="?", default="/work/shared/media/snapugc")
    ap.add_argument("--n", type=int, default=18)
    ap.add_argument("--concurrency", type=int, default=6)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--kill", action="store_true", help="also run the SIGKILL-mid-queue + restart check")
    ap.add_argument("--json", type=Path, help="write the figures here as JSON")
    ap.add_argument("--engagement-model", help="passed to reelscore serve (default: the shipped model)")
    ap.add_argument("--quality-model", help="passed to reelscore serve (default: the shipped model)")
    a = ap.parse_args()
    media_dir = Path(a.media)
    media = sorted(p for p in media_dir.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not media:
        sys.exit(f"no clips in {media_dir}")
    titles = load_titles(media_dir)
    margs = []
    if a.engagement_model:
        margs += ["--engagement-model", a.engagement_model]
    if a.quality_model:
        margs += ["--quality-model", a.quality_model]
    out = {"models": margs or "shipped defaults", "machine": f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB",
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="serve_bench_") as tmp:
        out["load"] = run_load(media, titles, a.n, a.concurrency, a.workers, Path(tmp), margs)
        print(json.dumps(out["load"]), flush=True)
        if a.kill:
            out["kill"] = run_kill(media, titles, a.n, a.workers, Path(tmp), margs)
            print(json.dumps(out["kill"]), flush=True)
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
