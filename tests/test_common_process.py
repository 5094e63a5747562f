"""Programs started with `killed_with_parent` run as given and die when the starting process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reelscore.common.process import killed_with_parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def test_the_wrapped_program_runs_with_its_arguments_output_and_exit_code():
    r = subprocess.run(killed_with_parent(["sh", "-c", 'printf "%s|" "$@"; exit 3', "sh", "a b", "c"]),
                       capture_output=True, text=True)
    assert r.returncode == 3 and r.stdout == "a b|c|"


def test_many_threads_starting_programs_at_once_all_finish():
    # what `degrade` does: a thread pool, each thread running its own program
    def one(i: int) -> str:
        return subprocess.run(killed_with_parent(["echo", str(i)]), capture_output=True, text=True, timeout=60).stdout

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(one, range(32)), key=int) == [f"{i}\n" for i in range(32)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_program_started_from_a_killed_process_dies_with_it(tmp_path):
    pid_file = tmp_path / "child.pid"
    parent_code = textwrap.dedent(f"""
        import subprocess, sys, threading
        from reelscore.common.process import killed_with_parent
        cmd = killed_with_parent(["sh", "-c", "echo $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file} && exec sleep 600"])
        t = threading.Thread(target=subprocess.run, args=(cmd,))
        t.start(); t.join()
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    deadline = time.time() + 60
    while not pid_file.exists() and time.time() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait(30)
    deadline = time.time() + 30
    while _alive(child) and time.time() < deadline:
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the program outlived the process that started it"
