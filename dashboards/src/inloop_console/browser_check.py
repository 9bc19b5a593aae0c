"""Real-browser check of the console: ``python -m inloop_console.browser_check [--out DIR]``.

Starts the console with ``streamlit run`` on a free loopback port, opens every page in headless
Debian chromium through Playwright, fails when a page shows a Streamlit exception (or never
finishes rendering), when the browser reports a JavaScript error, or when any request leaves the
machine (everything must come from the console itself), and saves one full-page screenshot per page.
It also opens a concern page with an open alert and acknowledges the alert there, as a person would.
By default it runs against a
fresh temporary data directory seeded with a little realistic data (check results, an alert,
logged predictions, a bug report) so the screenshots show filled pages; ``--data-dir`` points it
at an existing installation instead (nothing is seeded there).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PAGES", "PageResult", "check_pages", "main", "seed_sample_data"]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

APP = Path(__file__).with_name("app.py")
#: URL path of every page file (Streamlit derives it from the file name; the default page, overview, is "/").
#: Read from pages/, so a new page is opened in the browser without editing this list.
PAGES = ["", *sorted(p.stem for p in (APP.parent / "pages").glob("*.py")
                     if not p.stem.startswith("_") and p.stem != "overview")]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass(frozen=True)
class PageResult:
    page: str
    ok: bool
    seconds: float
    screenshot: Path | None
    problem: str = ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_console(env: dict[str, str], port: int, log_path: Path, timeout_s: float = 90,
                    app: Path = APP) -> Iterator[str]:
    """``app`` (default: the console) served on 127.0.0.1:``port`` in its own process group, stopped on exit."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the console exited during start-up (code {proc.returncode}); see {log_path}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:  # noqa: S310 - loopback
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the console did not answer within {timeout_s:.0f} s; see {log_path}")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _settle(page, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("[data-testid='stMainBlockContainer'] h1", timeout=timeout_s * 1000)
    # The app root says whether the page's script is still running; wait until it finished.
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           state="attached", timeout=timeout_s * 1000)
    page.wait_for_timeout(800)  # charts and images settle after the script finished


def _problems(page, js_errors: list[str], outside: list[str]) -> str:  # type: ignore[no-untyped-def]
    found = []
    exceptions = page.locator("[data-testid='stException']")
    if exceptions.count():
        found.append("Streamlit exception on the page: " + exceptions.first.inner_text()[:2000])
    if js_errors:
        found.append("JavaScript error(s): " + " | ".join(js_errors[:5]))
    if outside:
        found.append("request(s) to another host: " + ", ".join(sorted(set(outside))[:5]))
    return "; ".join(found)


def _is_outside(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") not in LOCAL_HOSTS


def acknowledge_on_concern_page(page, url: str, concern: tuple[str, str], timeout_s: float) -> str:  # type: ignore[no-untyped-def]
    """Open the concern's page, type a name and press "Acknowledge" on its open alert; the problem, or ""."""
    domain, concern_id = concern
    query = urllib.parse.urlencode({"domain": domain, "concern": concern_id})
    page.goto(f"{url}/concern?{query}", wait_until="domcontentloaded", timeout=timeout_s * 1000)
    _settle(page, timeout_s)
    name = page.locator("input[aria-label='Your name']").first
    name.fill("Browser Check")
    name.press("Enter")
    page.wait_for_timeout(500)
    page.get_by_role("button", name=re.compile("Acknowledge")).first.click()
    try:
        page.get_by_text(re.compile(r"acknowledged by Browser Check\.")).first.wait_for(timeout=timeout_s * 1000)
    except Exception:
        return "pressing Acknowledge on the concern page did not say the alert was acknowledged"
    _settle(page, timeout_s)
    return ""


def check_pages(url: str, out: Path, pages: list[str] = PAGES, timeout_s: float = 90,
                acknowledge: tuple[str, str] | None = None) -> list[PageResult]:
    """Open each page headless; a page fails on a shown exception, a JavaScript error, a request to another
    host, or when it never finishes running. With ``acknowledge`` (domain, concern), that concern's page is
    opened and its open alert acknowledged ("concern-acknowledged")."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("chromium is not installed (Debian: apt-get install -y chromium)")
    out.mkdir(parents=True, exist_ok=True)
    results = []
    outside: list[str] = []
    walks: list[tuple[str, str]] = [(p, p or "overview") for p in pages]
    if acknowledge is not None:
        walks.append(("<acknowledge>", "concern-acknowledged"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.on("request", lambda request: outside.append(request.url) if _is_outside(request.url) else None)
            # Noted above, then stopped here: nothing the check finds leaves the machine.
            context.route(_is_outside, lambda route: route.abort())
            for page_path, name in walks:
                start = time.perf_counter()
                page = context.new_page()
                js_errors: list[str] = []
                page.on("pageerror", lambda exc, errors=js_errors: errors.append(str(exc)[:500]))  # type: ignore[misc]
                outside.clear()
                problem = ""
                try:
                    if page_path == "<acknowledge>":
                        assert acknowledge is not None
                        problem = acknowledge_on_concern_page(page, url, acknowledge, timeout_s)
                    else:
                        page.goto(f"{url}/{page_path}", wait_until="domcontentloaded", timeout=timeout_s * 1000)
                        _settle(page, timeout_s)
                    # Streamlit scrolls inside its main section: grow the window so the shot holds the page.
                    height = page.evaluate("() => (document.querySelector(\"[data-testid='stMain']\") || "
                                           "document.body).scrollHeight")
                    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(height) + 40, 8000))})
                    page.wait_for_timeout(300)
                    problem = "; ".join(p for p in (problem, _problems(page, js_errors, outside)) if p)
                except PlaywrightError as exc:  # a timeout too: the page never finished rendering
                    problem = f"the page did not finish rendering or could not be used: {exc}"
                shot = out / f"{name}.png"
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(shot), full_page=True)
                page.close()
                results.append(PageResult(name, not problem, round(time.perf_counter() - start, 2),
                                          shot if shot.exists() else None, problem))
        finally:
            browser.close()
    return results


def seed_sample_data() -> None:
    """A little realistic data in the current data directory, so every page has something to show."""
    import random

    from inloop import db
    from inloop.checks import Measurement, evaluate_concern
    from inloop.domains import discover_domains
    from inloop.incidents import file_report
    from inloop.predictions import PredictionEntry, log_predictions

    db.upgrade()
    rng = random.Random(7)
    for name, domain in discover_domains().items():
        card = domain.card()
        checked = [c for c in card.concerns if c.check and c.threshold and c.metric and c.status != "planned"]
        for concern in checked:
            target = concern.threshold.value  # type: ignore[union-attr]
            good = {"<=": target * 0.5, "<": target * 0.5, ">=": target + 0.02, ">": target + 0.02, "==": target}
            for i in range(6):
                value = good[concern.threshold.op]  # type: ignore[union-attr]
                if isinstance(value, float) and concern.threshold.op in (">=", ">"):  # type: ignore[union-attr]
                    value += rng.uniform(0, 0.01)
                if concern.metric.unit.startswith("share"):  # type: ignore[union-attr]
                    value = min(value, 1.0)  # a share above 100 % reads as nonsense on the screenshots
                evaluate_concern(name, concern, Measurement(value, f"sample measurement {i + 1}"),
                                 asset_key="sample", run_id=None)
        log_predictions(PredictionEntry(domain=name, component="sample", features={"n": i}, output={"score": 0.5},
                                        model_name=f"{name}_model", model_version="1", live_test_set=i % 50 == 0,
                                        latency_ms=rng.uniform(2, 9)) for i in range(500))
        if checked:
            bad = checked[-1]
            wrong = {"<=": bad.threshold.value + 1, "<": bad.threshold.value + 1,  # type: ignore[union-attr]
                     ">=": bad.threshold.value - 0.1, ">": bad.threshold.value - 0.1,  # type: ignore[union-attr]
                     "==": bad.threshold.value + 1}[bad.threshold.op]  # type: ignore[union-attr]
            evaluate_concern(name, bad, Measurement(wrong, "sample: this check failed on the latest run"),
                             asset_key="sample")
    from inloop.alerts import list_alerts

    alerting = [a for a in list_alerts(status="open") if a.concern_id]
    if alerting:
        print(f"ALERTING {alerting[-1].domain} {alerting[-1].concern_id}")  # main() acknowledges it in the walk
    first = sorted(discover_domains())[0] if discover_domains() else None
    if first:
        file_report({"reporter": "Sample Colleague", "text": "The page showed something odd <b>not bold</b>",
                     "domain": first, "page": "home", "severity": "medium"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inloop_console.browser_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("console-screenshots"), help="Where screenshots go.")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="Check against this inloop data directory (default: a fresh, seeded temporary one).")
    parser.add_argument("--timeout", type=float, default=90, help="Seconds a page may take.")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="inloop-browser-check-") as tmp:
        if args.data_dir is None:
            env["INLOOP_DATA_DIR"] = str(Path(tmp) / "data")
            env.pop("INLOOP_DATABASE_URL", None)
            env.pop("INLOOP_MLFLOW_TRACKING_URI", None)
            seed = subprocess.run([sys.executable, "-c", "from inloop_console.browser_check import "
                                   "seed_sample_data; seed_sample_data()"], env=env, capture_output=True, text=True)
            if seed.returncode:
                print(seed.stdout + seed.stderr, file=sys.stderr)
                print("error: could not seed the sample data", file=sys.stderr)
                return 2
            found = re.search(r"^ALERTING (\S+) (\S+)$", seed.stdout, re.MULTILINE)
            acknowledge = (found.group(1), found.group(2)) if found else None
        else:
            env["INLOOP_DATA_DIR"] = str(args.data_dir.resolve())
            acknowledge = None  # never act on a real installation's alerts
        env.update({"STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "DO_NOT_TRACK": "1"})
        log_path = args.out.resolve() / "console.log"
        args.out.mkdir(parents=True, exist_ok=True)
        try:
            with running_console(env, free_port(), log_path, timeout_s=args.timeout) as url:
                results = check_pages(url, args.out.resolve(), timeout_s=args.timeout, acknowledge=acknowledge)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    for r in results:
        print(f"{'ok  ' if r.ok else 'FAIL'} {r.page:14} {r.seconds:6.2f} s  {r.screenshot or '(no screenshot)'}"
              + (f"\n     {r.problem}" if r.problem else ""))
    failed = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)} of {len(results)} pages rendered without a Streamlit exception, "
          "JavaScript error or outside request.")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
