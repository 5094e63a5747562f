"""Helpers for the service tests: a real `reelscore serve` process on a free loopback port.

Every wait here is bounded in time; every address is 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port that was free a moment ago on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class ServerProc:
    """`python -m reelscore serve ...` as a child process."""

    def __init__(self, data_dir: Path, *args: str, log_path: Path | None = None):
        self.data_dir = Path(data_dir)
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log_path or self.data_dir.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 180.0, need_workers: bool = True) -> "ServerProc":
        """Start and wait until /v1/health says the workers have loaded their models."""
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        env = dict(os.environ, REELSCORE_NO_PROGRESS="1", PYTHONUNBUFFERED="1")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reelscore", "serve", "--host", HOST, "--port", str(self.port),
             "--data-dir", str(self.data_dir), "--log-level", "warning", *self.args],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                h = httpx.get(f"{self.url}/v1/health", timeout=2.0).json()
                if not need_workers or h["workers"]["ready"] >= max(1, h["workers"]["workers"]):
                    return self
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"server not ready after {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        """The server's output so far."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """SIGKILL the server process (not its workers: they must die on their own)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """Ctrl-C the server and wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def wait_job(client: httpx.Client, job_id: str, timeout_s: float = 180.0, headers: dict | None = None) -> dict:
    """Poll a job until done/failed (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.25)
    raise TimeoutError(f"job {job_id} not finished after {timeout_s} s: {job}")


def submit(client: httpx.Client, path: Path, title: str | None = None, description: str | None = None,
           filename: str | None = None, content_type: str = "video/mp4", headers: dict | None = None):
    """POST /v1/score with a file and optional texts."""
    data = {k: v for k, v in (("title", title), ("description", description)) if v is not None}
    with open(path, "rb") as fh:
        return client.post("/v1/score", files={"file": (filename or path.name, fh, content_type)}, data=data,
                           headers=headers, timeout=60.0)


