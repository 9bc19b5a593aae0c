"""The one typed contract: every installed domain declares itself as a DomainPlugin, each capability it
declares loads and has the declared type, discovery stays cheap, and a domain's CLI mounts as ``inloop <d>``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import pytest
import typer
from fastapi import APIRouter
from typer.testing import CliRunner

from inloop.cli import mount_domain_apps
from inloop.data_quality import QualitySource
from inloop.demos import Demo
from inloop.domains import DomainApi, DomainPlugin, discover_domains
from inloop.privacy.erasure import SubjectEraser
from inloop.serving import ServedModel

DOMAINS = discover_domains()


def test_the_three_domains_declare_themselves_as_plugins() -> None:
    assert {"credit", "invoice_ocr", "recommender"} <= set(DOMAINS)
    for name, domain in DOMAINS.items():
        assert isinstance(domain, DomainPlugin) and domain.name == name
        assert domain.card_path.is_file(), domain.card_path


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_every_declared_capability_loads_with_its_declared_type(name: str) -> None:
    domain = DOMAINS[name]
    assert isinstance(domain.definitions(), dg.Definitions)
    demos = domain.demos()
    assert isinstance(demos, Mapping) and all(isinstance(d, Demo) and d.id == k for k, d in demos.items())
    if domain.api is not None:
        api = domain.api()
        assert isinstance(api, DomainApi) and isinstance(api.router, APIRouter) and api.router.routes
        assert api.prefix is None or api.prefix.startswith("/")
    if domain.served_model is not None:
        spec = domain.served_model()
        assert isinstance(spec, ServedModel) and spec.domain == name
    if domain.replay_runner is not None:
        assert callable(domain.replay_runner())
    if domain.subject_eraser is not None:
        eraser = domain.subject_eraser()
        assert isinstance(eraser, SubjectEraser) and eraser.domain == name
    if domain.data_quality_sources is not None:
        sources = list(domain.data_quality_sources())
        assert sources and all(isinstance(s, QualitySource) for s in sources)
    if domain.bench is not None:
        assert callable(domain.bench())
    if domain.cli is not None:
        assert isinstance(domain.cli(), typer.Typer)


def test_what_each_domain_offers() -> None:
    """The capabilities the platform's pages and commands rely on are really declared (not silently None).

    At least these: a domain may declare more as it grows."""
    offered = {
        name: {
            f
            for f in (
                "api",
                "served_model",
                "replay_runner",
                "subject_eraser",
                "data_sources",
                "data_quality_sources",
                "review_service",
                "bench",
                "cli",
            )
            if getattr(d, f) is not None
        }
        for name, d in DOMAINS.items()
    }
    for name in ("credit", "recommender"):
        assert offered[name] >= {
            "api",
            "served_model",
            "replay_runner",
            "subject_eraser",
            "data_sources",
            "data_quality_sources",
            "bench",
        }, name
    assert offered["invoice_ocr"] >= {"api", "review_service", "bench", "cli"}


def test_discovery_imports_neither_dagster_nor_fastapi_nor_the_ml_stack() -> None:
    code = (
        "import sys; from inloop.domains import discover_domains; found = discover_domains(); "
        "heavy = ('dagster', 'fastapi', 'mlflow', 'lightgbm', 'streamlit', 'rapidocr_onnxruntime'); "
        "print(sorted(found), sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    found, heavy = out.stdout.strip().split("] [")
    assert "'credit'" in found and heavy == "]", out.stdout


def test_a_domain_cli_is_mounted_as_inloop_domain(tmp_path: Path) -> None:
    app = typer.Typer()

    @app.command()
    def doctor() -> None:
        """A stand-in platform command."""

    assert mount_domain_apps(app, DOMAINS) == ["invoice_ocr"]
    result = CliRunner().invoke(app, ["invoice_ocr", "status", "--root", str(tmp_path / "installation")])
    # An empty installation reconciles: nothing received, nothing missing.
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["gap"] == 0


def test_a_domain_named_like_a_platform_command_is_refused() -> None:
    app = typer.Typer()

    @app.command()
    def doctor() -> None:
        """A stand-in platform command."""

    impostor = DomainPlugin(
        name="doctor", root=Path("."), definitions=dg.Definitions, cli=lambda: typer.Typer()
    )
    with pytest.raises(ValueError, match="`inloop doctor` is already a command"):
        mount_domain_apps(app, {"doctor": impostor})


def test_the_installed_inloop_command_runs_a_domain_sub_app(tmp_path: Path) -> None:
    inloop = Path(sys.executable).with_name("inloop")
    out = subprocess.run(
        [inloop, "invoice_ocr", "review", "list", "--root", str(tmp_path / "installation")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "the review queue is empty" in out.stdout
