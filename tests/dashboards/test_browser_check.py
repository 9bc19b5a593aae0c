"""The real-browser check: every console page opens in headless chromium without a Streamlit exception."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)"),
]


def test_every_page_renders_in_a_real_browser_and_is_screenshotted(tmp_path: Path, capsys):
    from inloop_console.browser_check import PAGES, main

    out = tmp_path / "shots"
    code = main(["--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    shots = sorted(p.name for p in out.glob("*.png"))
    # every page, and the concern page after its alert was acknowledged in the browser
    assert shots == sorted([*(f"{p or 'overview'}.png" for p in PAGES), "concern-acknowledged.png"])
    assert "concern" in PAGES
    assert all((out / name).stat().st_size > 10_000 for name in shots)  # a real page, not a blank frame
    n = len(PAGES) + 1
    assert (f"{n} of {n} pages rendered without a Streamlit exception, JavaScript error or outside request."
            in printed)
    assert "ok   concern-acknowledged" in printed


def test_the_check_fails_on_a_page_that_shows_an_exception(tmp_path: Path):
    """Against a tiny app whose page raises, the check must report the failure (not pass silently)."""
    import os

    from inloop_console import browser_check

    app = tmp_path / "broken.py"
    app.write_text("import streamlit as st\nst.title('Broken page')\nraise RuntimeError('boom from the page')\n")
    with browser_check.running_console(dict(os.environ), browser_check.free_port(), tmp_path / "log.txt",
                                       app=app) as url:
        [result] = browser_check.check_pages(url, tmp_path / "shots", pages=[""], timeout_s=60)
    assert not result.ok
    assert "boom from the page" in result.problem


def test_the_check_fails_on_a_request_to_another_host(tmp_path: Path):
    """A page that loads an image from another host fails the check; the request is stopped in the browser."""
    import os

    from inloop_console import browser_check

    app = tmp_path / "leaky.py"
    app.write_text("import streamlit as st\nst.title('Leaky page')\n"
                   "st.markdown('<img src=\"http://outside.invalid/pixel.png\">', unsafe_allow_html=True)\n")
    with browser_check.running_console(dict(os.environ), browser_check.free_port(), tmp_path / "log.txt",
                                       app=app) as url:
        [result] = browser_check.check_pages(url, tmp_path / "shots", pages=[""], timeout_s=60)
    assert not result.ok
    assert "request(s) to another host: http://outside.invalid/pixel.png" in result.problem
