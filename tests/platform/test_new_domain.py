"""`inloop new-domain NAME`: bad names are refused with the reason; a new domain works at once.

The fast tests render into a small stand-in workspace (the repository's own pyproject.toml and
workspace.yaml, copied). The slow test works on a temporary copy of the whole repository (its
tracked files): it creates a domain, syncs a virtual environment there with uv, and runs what
the suite asks of every domain — then removes it again. Nothing in this checkout is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomlkit
import yaml
from typer.testing import CliRunner

from inloop.cli import app
from inloop.launcher import workspace_modules
from inloop.scaffold import DomainNameError, find_repo_root, new_domain, remove_domain, validate_domain_name

REPO = Path(__file__).resolve().parents[2]
INLOOP = Path(sys.executable).with_name("inloop")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A stand-in workspace root: the repository's pyproject.toml and workspace.yaml, and a domains/ folder."""
    root = tmp_path / "repo"
    (root / "domains").mkdir(parents=True)
    for name in ("pyproject.toml", "workspace.yaml"):
        shutil.copy2(REPO / name, root / name)
    return root


# Names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "reason"), [
    ("Churn", "is not a valid domain name: use snake_case"),
    ("churn-risk", "is not a valid domain name: use snake_case"),
    ("2fast", "is not a valid domain name: use snake_case"),
    ("churn__risk", "is not a valid domain name: use snake_case"),
    ("", "is not a valid domain name"),
    ("x" * 41, "is too long (41 characters, at most 40)"),
    ("class", "is a Python keyword"),
    ("match", "is a Python keyword"),  # a soft keyword
    ("json", "is a module of Python's standard library"),
    ("platform", "is a module of Python's standard library"),
    ("inloop", "is reserved by inloop"),
    ("alerts", "is reserved by inloop"),  # the API's platform route /alerts
    ("recommender", "is already a domain (installed"),
    ("pandas", "clashes with the installed package pandas"),
    ("dagster", "clashes with the installed package dagster"),
    ("yaml", "clashes with the installed package PyYAML"),  # import name differs from the distribution's
])
def test_a_bad_name_is_refused_with_its_reason(name: str, reason: str) -> None:
    with pytest.raises(DomainNameError, match=None) as refused:
        validate_domain_name(name)
    assert reason in str(refused.value)


def test_a_name_whose_folder_exists_is_refused(workspace: Path) -> None:
    (workspace / "domains" / "churn").mkdir()
    with pytest.raises(DomainNameError, match="already exists: .*domains/churn is there"):
        validate_domain_name("churn", workspace)


def test_a_name_an_importable_module_has_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "churn_scores.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    with pytest.raises(DomainNameError, match="clashes with an importable module"):
        validate_domain_name("churn_scores")


def test_a_good_name_passes() -> None:
    validate_domain_name("churn_risk")


def test_the_cli_refuses_a_bad_name_with_exit_code_2_and_writes_nothing(workspace: Path) -> None:
    before = sorted(p.relative_to(workspace) for p in workspace.rglob("*"))
    result = CliRunner().invoke(app, ["new-domain", "pandas", "--repo", str(workspace)])
    assert result.exit_code == 2
    assert "error: 'pandas' clashes with the installed package pandas" in result.output
    assert sorted(p.relative_to(workspace) for p in workspace.rglob("*")) == before


def test_outside_a_workspace_it_says_where_to_run_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["new-domain", "churn", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert "no inloop workspace" in result.output


# Files and workspace edits (no uv) ---------------------------------------------------------------


def test_dry_run_lists_the_files_and_writes_nothing(workspace: Path) -> None:
    before = {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()}
    result = CliRunner().invoke(app, ["new-domain", "churn", "--dry-run", "--repo", str(workspace)])
    assert result.exit_code == 0, result.output
    for path in ("domains/churn/pyproject.toml", "domains/churn/project.yaml", "domains/churn/src/churn/demos.py",
                 "domains/churn/src/churn/api.py", "tests/domains/churn/test_definitions.py"):
        assert f"  {path}\n" in result.output
    assert {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()} == before


def test_new_domain_registers_it_in_the_workspace_and_remove_domain_restores_it(workspace: Path) -> None:
    originals = {name: (workspace / name).read_text() for name in ("pyproject.toml", "workspace.yaml")}
    assert find_repo_root(workspace / "domains") == workspace
    result = new_domain("web_shop", repo_root=workspace, title='Web "shop"', sync=False, echo=lambda _: None)
    assert Path("domains/web_shop/src/web_shop/definitions.py") in result.files and not result.synced
    package = tomlkit.parse((workspace / "domains/web_shop/pyproject.toml").read_text())
    assert package["project"]["entry-points"]["inloop.domains"]["web_shop"] == "web_shop.domain:domain"
    assert package["project"]["name"] == "inloop-web-shop"
    root = tomlkit.parse((workspace / "pyproject.toml").read_text())
    assert "inloop-web-shop" in root["project"]["dependencies"]
    assert root["tool"]["uv"]["sources"]["inloop-web-shop"] == {"workspace": True}
    assert "web_shop" in root["tool"]["ruff"]["lint"]["isort"]["known-first-party"]
    assert "web_shop.definitions" in workspace_modules(workspace / "workspace.yaml")
    card = yaml.safe_load((workspace / "domains/web_shop/project.yaml").read_text())
    assert card["title"] == 'Web "shop"' and card["business_case"]["user_story"].startswith("TODO(team):")
    # Its imports are sorted as the repository's ruff wants them ("web_shop" sorts after "inloop").
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.is_file():
        linted = subprocess.run([ruff, "check", "domains/web_shop", "tests/domains/web_shop"], cwd=workspace,
                                capture_output=True, text=True, check=False)
        assert linted.returncode == 0, linted.stdout
    with pytest.raises(DomainNameError, match="already exists"):  # a second time: the folder is there
        new_domain("web_shop", repo_root=workspace, sync=False, echo=lambda _: None)

    removed = remove_domain("web_shop", repo_root=workspace, sync=False, echo=lambda _: None)
    assert Path("domains/web_shop") in removed and not (workspace / "domains/web_shop").exists()
    assert not (workspace / "tests/domains/web_shop").exists()
    assert {name: (workspace / name).read_text() for name in originals} == originals


def test_new_domain_declares_a_domain_plugin_and_joins_the_dg_workspace(workspace: Path) -> None:
    shutil.copy2(REPO / "dg.toml", workspace / "dg.toml")
    original = (workspace / "dg.toml").read_text()
    result = new_domain("web_shop", repo_root=workspace, sync=False, echo=lambda _: None)
    assert Path("dg.toml") in result.edited
    projects = tomlkit.parse((workspace / "dg.toml").read_text())["workspace"]["projects"]
    assert [p["path"] for p in projects][-1] == "domains/web_shop"
    dg_project = tomlkit.parse((workspace / "domains/web_shop/pyproject.toml").read_text())["tool"]["dg"]
    assert dg_project["directory_type"] == "project"
    assert dg_project["project"]["code_location_target_module"] == "web_shop.definitions"
    plugin = (workspace / "domains/web_shop/src/web_shop/domain.py").read_text()
    # The same typed declaration as the installed domains: loaders, no "module:attribute" strings.
    assert "domain = DomainPlugin(" in plugin and "definitions=_definitions" in plugin and "api=_api" in plugin
    assert "definitions_module" not in plugin and "extras" not in plugin
    removed = remove_domain("web_shop", repo_root=workspace, sync=False, echo=lambda _: None)
    assert Path("dg.toml") in removed and (workspace / "dg.toml").read_text() == original


def test_a_workspace_that_lists_its_members_gets_the_domain_as_a_member(workspace: Path) -> None:
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('members = ["platform", "domains/*", "dashboards"]',
                                                       'members = ["platform", "domains/credit", "dashboards"]'))
    original = pyproject.read_text()
    assert 'members = ["platform", "domains/credit", "dashboards"]' in original
    new_domain("web_shop", repo_root=workspace, sync=False, echo=lambda _: None)
    members = tomlkit.parse(pyproject.read_text())["tool"]["uv"]["workspace"]["members"]
    assert list(members) == ["platform", "domains/credit", "dashboards", "domains/web_shop"]
    remove_domain("web_shop", repo_root=workspace, sync=False, echo=lambda _: None)
    assert pyproject.read_text() == original


def test_without_uv_it_says_how_to_finish_or_undo(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import inloop.scaffold as scaffold

    monkeypatch.setattr(scaffold.shutil, "which", lambda name: None)
    with pytest.raises(scaffold.ScaffoldError) as failed:
        new_domain("churn", repo_root=workspace, echo=lambda _: None)
    assert "uv is not installed: run scripts/bootstrap.sh" in str(failed.value)
    assert "inloop remove-domain churn --yes" in str(failed.value)
    assert (workspace / "domains/churn/project.yaml").is_file()


def test_remove_domain_refuses_what_is_not_a_domain_folder(workspace: Path) -> None:
    (workspace / "platform").mkdir()
    (workspace / "platform" / "pyproject.toml").write_text("[project]\nname = 'inloop'\n")
    for name in ("inloop", "nothing_here", "../platform", "/tmp"):
        with pytest.raises(DomainNameError, match="is not a domain of this workspace"):
            remove_domain(name, repo_root=workspace, sync=False)
    assert (workspace / "platform" / "pyproject.toml").is_file()


# The whole thing, in a copy of the repository ----------------------------------------------------


def _copy_repository(to: Path) -> None:
    """The tracked files of this checkout (as they are in the working tree)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        source = REPO / rel
        if source.is_file():  # deleted in the working tree: skip
            (to / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / rel)


def _env(copy: Path, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH") and not k.startswith("PYTEST_")}
    bootstrapped_uv = REPO / ".tools" / "uv" / "bin"  # where scripts/bootstrap.sh puts uv when none is on PATH
    path = f"{bootstrapped_uv}{os.pathsep}{env.get('PATH', '')}" if (bootstrapped_uv / "uv").is_file() else env["PATH"]
    return env | {"INLOOP_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster"),
                  "INLOOP_ENVIRONMENT": "test", "PATH": path}


def _run(command: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.mark.slow
@pytest.mark.rubric("data-6")
@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs a git checkout")
@pytest.mark.skipif(shutil.which("uv") is None and not (REPO / ".tools/uv/bin/uv").is_file(),
                    reason="needs uv (scripts/bootstrap.sh installs one)")
@pytest.mark.timeout(900)
def test_a_new_domain_works_at_once_everywhere_then_is_removed(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    _copy_repository(copy)
    env = _env(copy, tmp_path / "inloop-data")
    originals = {name: (copy / name).read_bytes() for name in ("pyproject.toml", "workspace.yaml", "uv.lock", "dg.toml")}

    # Create it with this checkout's inloop; it locks and syncs the copy's own .venv.
    created = _run([INLOOP, "new-domain", "churn_risk", "--title", "Customer churn risk", "--repo", copy], copy, env)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "Created domain churn_risk" in created.stdout and "Next steps:" in created.stdout
    assert "inloop demo run churn_risk:incomplete-records-are-stopped" in created.stdout
    python, inloop = copy / ".venv/bin/python", copy / ".venv/bin/inloop"

    # Dagster loads the new code location exactly as workspace.yaml declares it.
    workspace = yaml.safe_load((copy / "workspace.yaml").read_text())
    entry = [e for e in workspace["load_from"] if e["python_module"]["location_name"] == "churn_risk"]
    assert entry == [{"python_module": {"module_name": "churn_risk.definitions", "location_name": "churn_risk"}}]
    (tmp_path / "one-location.yaml").write_text(yaml.safe_dump({"load_from": entry}))
    (tmp_path / "inloop-data" / "dagster").mkdir(parents=True)
    validated = _run([copy / ".venv/bin/dagster", "definitions", "validate", "-w", tmp_path / "one-location.yaml"],
                     copy, env)
    output = validated.stdout + validated.stderr
    assert validated.returncode == 0 and "Validation successful for code location churn_risk" in output, output[-3000:]

    # The worst-case demo holds, through the CLI.
    demo = _run([inloop, "demo", "run", "churn_risk:incomplete-records-are-stopped"], copy, env)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "the story held" in demo.stdout and "BROKEN" not in demo.stdout

    # check-project fails, and only on the checklist questions the team has to answer.
    lint = _run([inloop, "check-project", "churn_risk"], copy, env)
    assert lint.returncode == 1, lint.stdout
    findings = [line.strip() for line in lint.stdout.splitlines() if line.startswith("  ")]
    assert findings and all(f.startswith("ERROR") and f.endswith("unanswered checklist item") for f in findings), \
        lint.stdout
    assert "business_case.user_story" in lint.stdout and "outage_impact.on_call" in lint.stdout

    # Its own tests pass: definitions and the concern check, the demo, the API route, the console pages.
    # (and the launcher's check that workspace.yaml has one code location per installed domain).
    tests = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "tests/domains/churn_risk",
                  "tests/platform/test_launcher.py::test_workspace_has_one_code_location_per_installed_domain"],
                 copy, env, timeout=600)
    assert tests.returncode == 0, tests.stdout[-4000:]
    for module in ("test_definitions.py", "test_demos.py", "test_api.py", "test_console.py", "test_project_card.py"):
        assert (copy / "tests/domains/churn_risk" / module).is_file()
    ruff = _run([copy / ".venv/bin/ruff", "check", "domains/churn_risk", "tests/domains/churn_risk"], copy, env)
    assert ruff.returncode == 0, ruff.stdout

    # And it goes away again: files, workspace entries, lock and installed entry point.
    removed = _run([inloop, "remove-domain", "churn_risk", "--yes"], copy, env)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert {name: (copy / name).read_bytes() for name in originals} == originals
    assert not (copy / "domains/churn_risk").exists() and not (copy / "tests/domains/churn_risk").exists()
    listed = _run([python, "-c", "from importlib.metadata import entry_points as e; "
                                 "print(sorted(p.name for p in e(group='inloop.domains')))"], copy, env)
    assert "churn_risk" not in listed.stdout and listed.returncode == 0
