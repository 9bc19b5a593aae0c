"""``inloop world run`` ends on SIGTERM even when it was started with SIGTERM ignored (as some supervisors
and sandboxes start background jobs): a stack's teardown must be able to stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_world_run_stops_on_sigterm_even_when_started_with_it_ignored(inloop_env: Path, tmp_path: Path) -> None:
    log = tmp_path / "world.log"
    env = {**os.environ, "INLOOP_WORLD_DAY_SECONDS": "3600"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("inloop")), "world", "run", "--api-url", "http://127.0.0.1:9"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),  # noqa: PLW1509
        )
    try:
        deadline = time.monotonic() + 120  # a hang guard: wait until the first simulated day was attempted
        while "day 0" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")
            time.sleep(0.2)
        assert "day 0" in log.read_text(errors="replace"), log.read_text(errors="replace")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
