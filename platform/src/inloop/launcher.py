"""``inloop up``: prepare the data directory, run each domain's pipelines once, start the services.

Services (Dagster UI + daemon via ``dagster dev``, the API, the console) each run in their own
process group, so Ctrl-C (or SIGTERM) stops all of them and their children: nothing is left
behind. If one service dies, the others are stopped too and the exit code says so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from inloop import db
from inloop.domains import DomainPlugin, discover_domains
from inloop.settings import Settings, get_settings

__all__ = ["Service", "find_workspace", "first_run", "group_members", "run_up", "workspace_locations",
           "workspace_modules"]

Echo = Callable[[str], None]


def find_workspace(start: Path | None = None) -> Path:
    """The ``workspace.yaml`` in ``start`` or the nearest folder above it."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "workspace.yaml"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no workspace.yaml in {here} or above: run inloop from the repository")


def workspace_modules(workspace: Path) -> list[str]:
    """The python modules of the workspace's code locations."""
    return list(workspace_locations(workspace).values())


def workspace_locations(workspace: Path) -> dict[str, str]:
    """Code location name -> python module, as the workspace declares them (a bare module: its own name)."""
    data = yaml.safe_load(workspace.read_text()) or {}
    locations: dict[str, str] = {}
    for entry in data.get("load_from", []):
        spec = entry.get("python_module")
        if isinstance(spec, dict):
            locations[spec.get("location_name") or spec["module_name"]] = spec["module_name"]
        elif isinstance(spec, str):
            locations[spec] = spec
    return locations


def _dagster_cli() -> str:
    return str(Path(sys.executable).with_name("dagster"))


_EVENT = re.compile(r" - (STEP_SUCCESS|STEP_FAILURE|ASSET_CHECK_EVALUATION|RUN_SUCCESS|RUN_FAILURE) - (.*)$")


def _first_run_command(domain: DomainPlugin) -> list[str]:
    # The Dagster CLI loads the code location the workspace declares for the domain (the same
    # module `dagster dev` loads), so the run appears in the UI's history under that location.
    module = workspace_locations(find_workspace()).get(domain.name)
    if module is None:
        raise LookupError(f"workspace.yaml has no code location named {domain.name!r}; add its "
                          f"python_module entry (location_name: {domain.name})")
    defs = domain.definitions()
    job_names = {job.name for job in (defs.jobs or [])}
    if "first_run" in job_names:
        return [_dagster_cli(), "job", "execute", "-m", module, "-j", "first_run"]
    return [_dagster_cli(), "asset", "materialize", "-m", module, "--select", "*"]


def first_run(settings: Settings, domains: dict[str, DomainPlugin], echo: Echo, *, force: bool = False) -> bool | None:
    """Materialize each domain's pipelines once (its ``first_run`` job, or all its assets).

    Runs go through the Dagster CLI on the same instance as ``dagster dev``, so they show up
    in the UI's run history. A domain is marked done only when its run succeeded, so a failed
    first run is tried again on the next ``inloop up``. Returns True if all succeeded, False if one
    failed, None when there was nothing to run.
    """
    state = settings.data_dir / "state"
    logs = settings.data_dir / "logs"
    state.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    todo = [d for d in domains.values() if force or not (state / f"first-run-{d.name}.done").exists()]
    if not todo:
        echo("Demo data and first runs: already done (delete the data directory to start over).")
        return None
    ok = True
    for i, domain in enumerate(todo, 1):
        log_path = logs / f"first-run-{domain.name}.log"
        echo(f"[{i}/{len(todo)}] {domain.name}: first run of its pipelines (log: {log_path})")
        start = time.monotonic()
        try:
            command = _first_run_command(domain)
        except LookupError as exc:
            ok = False
            echo(f"      {domain.name}: not run: {exc}")
            continue
        with open(log_path, "w") as log, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=settings.child_environment(), cwd=find_workspace().parent, start_new_session=True,
        ) as proc:
            assert proc.stdout is not None
            try:
                lines = list(_follow(proc, log, echo))
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                raise
            steps = len(lines)
            code = proc.wait()
        took = time.monotonic() - start
        if code == 0:
            (state / f"first-run-{domain.name}.done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S%z\n"))
            echo(f"      {domain.name}: done in {took:.0f} s ({steps} steps)")
        else:
            ok = False
            echo(f"      {domain.name}: FAILED after {took:.0f} s (exit {code}); see {log_path}. "
                 "It is retried on the next `inloop up`.")
    return ok


def _follow(proc: subprocess.Popen[str], log: object, echo: Echo):  # type: ignore[no-untyped-def]
    """Copy a Dagster CLI run's output to its log; echo one counted line per finished step."""
    steps = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        log.write(line)  # type: ignore[attr-defined]
        match = _EVENT.search(line.rstrip())
        if not match:
            continue
        kind, message = match.groups()
        if kind == "STEP_SUCCESS":
            steps += 1
            echo(f"      step {steps} done: {message[:100]}")
            yield message
        elif kind == "STEP_FAILURE":
            echo(f"      step FAILED: {message[:160]}")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def _reload_api_models(api: Service, settings: Settings, token: str, echo: Echo) -> None:
    """The API started before the first run trained anything: have it load the new champions."""
    base = api.health_url.rsplit("/", 1)[0]
    deadline = time.monotonic() + 120
    while not api.healthy() and time.monotonic() < deadline:
        time.sleep(0.5)
    try:
        resp = httpx.post(f"{base}/models/reload", headers={"Authorization": f"Bearer {token}"}, timeout=120)
        loaded = resp.json().get("domains", {})
        echo("API models: " + "; ".join(f"{name}: {state['detail']}" for name, state in loaded.items()))
    except (httpx.HTTPError, ValueError) as exc:
        echo(f"WARNING: the API could not reload its models ({exc}); POST /models/reload later")


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    url: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_path: Path | None = None

    def start(self, env: dict[str, str], cwd: Path, logs: Path) -> None:
        self.log_path = logs / f"{self.name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - stays open for the child's lifetime
        # Own session => own process group: one killpg stops the service and all its children.
        self.process = subprocess.Popen(self.command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health_url, timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    def stop(self, grace_s: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        # Children that outlive their parent are still in the group: give them a moment, then make sure.
        deadline = time.monotonic() + 5
        while group_members(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if group_members(self.process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)


def services(settings: Settings, workspace: Path) -> list[Service]:
    """The services that exist in this checkout (API and console join once they are installed)."""
    host = "127.0.0.1"
    bindir = Path(sys.executable).parent
    out = [Service(
        "dagster",
        [str(bindir / "dagster"), "dev", "-w", str(workspace), "-h", host, "-p", str(settings.dagster_port)],
        f"http://{host}:{settings.dagster_port}/server_info", f"http://{host}:{settings.dagster_port}",
    )]
    if importlib.util.find_spec("inloop.api") is not None:
        out.append(Service(
            "api",
            [str(bindir / "uvicorn"), "inloop.api.app:create_app", "--factory", "--host", settings.api_host,
             "--port", str(settings.api_port), "--no-access-log"],
            f"http://{host}:{settings.api_port}/health", f"http://{host}:{settings.api_port}/docs",
        ))
        if settings.world:
            # The simulated world sends traffic to the API: it is healthy when the API is.
            out.append(Service("world", [str(bindir / "inloop"), "world", "run"],
                               f"http://{host}:{settings.api_port}/health", "inloop incident list"))
    console = workspace.parent / "dashboards" / "src" / "inloop_console" / "app.py"
    if console.exists():
        out.append(Service(
            "console",
            [str(bindir / "streamlit"), "run", str(console), "--server.address", host,
             "--server.port", str(settings.console_port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"],
            f"http://{host}:{settings.console_port}/_stcore/health", f"http://{host}:{settings.console_port}",
        ))
    return out


def _start(svc: Service, env: dict[str, str], cwd: Path, logs: Path, echo: Echo) -> None:
    svc.start(env, cwd, logs)
    echo(f"Started {svc.name} (pid {svc.process.pid if svc.process else '?'}; log {svc.log_path})")


def run_up(echo: Echo, *, skip_first_run: bool = False, ready_timeout_s: float = 180.0) -> int:
    """What the README's main command runs. Blocks until Ctrl-C or a service dies."""
    settings = get_settings().prepare()
    workspace = find_workspace()
    echo(f"inloop: data directory {settings.data_dir}")
    echo(f"Platform database: {db.upgrade()} (migrated)")
    domains = discover_domains()
    from inloop.incidents.index import reindex

    index = reindex()
    echo(f"Post-mortems: {len(index.indexed)} indexed, {index.action_items} action points"
         + (f"; {len(index.errors)} files have errors (inloop postmortem check)" if index.errors else ""))
    missing = sorted(set(domains) - set(workspace_locations(workspace)))
    if missing:
        echo(f"WARNING: {workspace} has no code location for: {', '.join(missing)}")
    token = settings.resolved_api_token()
    env = settings.child_environment()
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    running = services(settings, workspace)
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        # The simulated world starts last, once the first runs are done and the API serves their models: started
        # beside the others, it sent its first simulated days to an API that had no champion yet (503s).
        world = [svc for svc in running if svc.name == "world"]
        for svc in running:
            if svc not in world:
                _start(svc, env, workspace.parent, logs, echo)
        ran_first_run = False
        if not skip_first_run:
            ran_first_run = first_run(settings, domains, echo) is not None
        deadline = time.monotonic() + ready_timeout_s
        pending = [svc for svc in running if svc not in world]
        while pending and time.monotonic() < deadline:
            for svc in list(pending):
                if not svc.alive():
                    echo(f"ERROR: {svc.name} exited during start-up; see {svc.log_path}")
                    return 1
                if svc.healthy():
                    pending.remove(svc)
            time.sleep(0.5)
        if pending:
            echo(f"ERROR: not answering after {ready_timeout_s:.0f} s: {', '.join(s.name for s in pending)}")
            return 1
        api = next((svc for svc in running if svc.name == "api"), None)
        if api is not None and ran_first_run:
            _reload_api_models(api, settings, token, echo)
        for svc in world:
            _start(svc, env, workspace.parent, logs, echo)
        echo("")
        echo("inloop is up:")
        labels = {"dagster": "Dagster UI", "api": "API (OpenAPI docs)", "console": "Stakeholder console"}
        for svc in running:
            echo(f"  {labels.get(svc.name, svc.name):22} {svc.url}")
        echo(f"  {'API write token':22} {token}  (also in {settings.data_dir / 'api-token'})")
        echo("Press Ctrl-C to stop everything.")
        while True:
            for svc in running:
                if not svc.alive():
                    echo(f"ERROR: {svc.name} stopped unexpectedly (exit {svc.process.returncode if svc.process else '?'});"
                         f" see {svc.log_path}. Stopping the others.")
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        echo("\nStopping...")
        return 0
    finally:
        for svc in reversed(running):
            svc.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        echo("All inloop services stopped.")
