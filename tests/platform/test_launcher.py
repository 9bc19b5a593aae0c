"""`inloop up`: every service comes up, all code locations load, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from inloop.domains import discover_domains
from inloop.launcher import find_workspace, group_members, workspace_locations, workspace_modules

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_workspace_has_one_code_location_per_installed_domain() -> None:
    locations = workspace_locations(find_workspace(REPO))
    domains = discover_domains()
    assert sorted(locations) == sorted(domains)
    assert sorted(workspace_modules(find_workspace(REPO))) == sorted(locations.values())
    # Each location's module holds the very Definitions the domain's plugin declares.
    for name, module in locations.items():
        assert importlib.import_module(module).defs is domains[name].definitions(), name


def _group_alive(pgid: int) -> bool:
    # Zombies do not count: in a container without an init, orphans' exit status may never be reaped.
    return bool(group_members(pgid))


@pytest.mark.slow
def test_up_starts_everything_and_ctrl_c_stops_everything(inloop_env: Path) -> None:
    ports = {"INLOOP_DAGSTER_PORT": _free_port(), "INLOOP_API_PORT": _free_port(), "INLOOP_CONSOLE_PORT": _free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}}
    inloop = Path(sys.executable).with_name("inloop")
    proc = subprocess.Popen([str(inloop), "up", "--skip-first-run"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        output = "".join(lines)
        assert "inloop is up" in output, output
        assert f"http://127.0.0.1:{ports['INLOOP_DAGSTER_PORT']}" in output
        query = '{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus ' \
                'locationOrLoadError { __typename ... on PythonError { message } } } } } }'
        resp = httpx.post(f"http://127.0.0.1:{ports['INLOOP_DAGSTER_PORT']}/graphql", json={"query": query}, timeout=30)
        entries = resp.json()["data"]["workspaceOrError"]["locationEntries"]
        assert {e["name"]: e["locationOrLoadError"]["__typename"] for e in entries} == {
            name: "RepositoryLocation" for name in discover_domains()}
        started = [line.split()[1] for line in lines if line.startswith("Started ")]
        # The simulated world starts last, once the API answers (and after the first runs, when they run):
        # started beside the others it sent its first days to an API with no champion loaded yet.
        assert started[-1] == "world" and {"dagster", "api", "console"} <= set(started[:-1]), started
        service_pids = [int(line.split("(pid ")[1].split(";")[0]) for line in lines if line.startswith("Started ")]
        assert service_pids and all(_group_alive(pid) for pid in service_pids)
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "All inloop services stopped." in rest
    deadline = time.monotonic() + 10
    while any(_group_alive(pid) for pid in service_pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    leftovers = {pid: group_members(pid) for pid in service_pids if _group_alive(pid)}
    assert leftovers == {}, f"processes still alive after Ctrl-C (group: members): {leftovers}"
