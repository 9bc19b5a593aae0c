"""``inloop new-domain NAME``: scaffold a working domain into the uv workspace (and take it out again).

The template (``template/``, rendered with copier) is package data of inloop, so a fork's
installed platform carries it. A new domain gets: its package under ``domains/<name>/`` with
the ``inloop.domains`` entry point, a project card whose pre-project checklist is left as
``TODO(team): ...`` questions, seeded synthetic records, one enforced concern check, a
worst-case demo, an API router and tests under ``tests/domains/<name>/``. Then the workspace
is told about it (root ``pyproject.toml``: dependency, ``[tool.uv.sources]``, ruff's first-party
list; ``workspace.yaml``: its code location; ``dg.toml``: its dg project) and ``uv lock`` + ``uv sync``
install the entry point.

The files are rendered into a temporary folder first, so a refused or failed render writes
nothing into the repository, and ``--dry-run`` shows exactly the files a real run would write.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import tomlkit
import yaml

from inloop.scaffold.names import RESERVED_NAMES, SNAKE_CASE, DomainNameError, validate_domain_name

__all__ = ["RESERVED_NAMES", "DomainNameError", "ScaffoldError", "ScaffoldResult", "demo_ref", "find_repo_root",
           "new_domain", "remove_domain", "report", "validate_domain_name"]

TEMPLATE = Path(__file__).with_name("template")
_SNIPPETS = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("snippets")),
                               undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
DEMO_ID = "incomplete-records-are-stopped"

Echo = Callable[[str], None]


class ScaffoldError(RuntimeError):
    """The workspace cannot take the domain (not a workspace, uv missing, uv failed); says what to do."""


@dataclass
class ScaffoldResult:
    name: str
    root: Path
    files: list[Path] = field(default_factory=list)
    edited: list[Path] = field(default_factory=list)
    synced: bool = False


def demo_ref(name: str) -> str:
    return f"{name}:{DEMO_ID}"


def find_repo_root(start: Path | None = None) -> Path:
    """The uv workspace root at or above ``start``: the folder with ``workspace.yaml`` and a workspace pyproject."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if (folder / "workspace.yaml").is_file() and pyproject.is_file() \
                and "workspace" in tomlkit.parse(pyproject.read_text()).get("tool", {}).get("uv", {}):
            return folder
    raise ScaffoldError(f"no inloop workspace (workspace.yaml beside a pyproject.toml with [tool.uv.workspace]) in "
                        f"{here} or above: run this in your inloop repository, or pass --repo")


def distribution_name(name: str) -> str:
    return "inloop-" + name.replace("_", "-")


def _check_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > 120 or any(not ch.isprintable() for ch in title):
        raise DomainNameError("--title must be one printable line of 1 to 120 characters")
    return title


def _render(name: str, title: str, into: Path) -> list[Path]:
    """Render the template into ``into``; return the written files, relative to it."""
    import copier

    copier.run_copy(str(TEMPLATE), into, data={"name": name, "title": title, "distribution": distribution_name(name)},
                    defaults=True, overwrite=True, quiet=True, unsafe=False, skip_tasks=True)
    return sorted(p.relative_to(into) for p in into.rglob("*") if p.is_file())


def _location_block(name: str) -> str:
    return _SNIPPETS.get_template("workspace_location.yaml.jinja").render(name=name)


def _add_to_pyproject(root: Path, name: str) -> None:
    path = root / "pyproject.toml"
    doc = tomlkit.parse(path.read_text())
    dist = distribution_name(name)
    deps = doc["project"]["dependencies"]
    if dist not in deps:
        deps.append(dist)
    sources = doc["tool"]["uv"].setdefault("sources", tomlkit.table())
    if dist not in sources:
        entry = tomlkit.inline_table()
        entry["workspace"] = True
        sources[dist] = entry
    first_party = doc.get("tool", {}).get("ruff", {}).get("lint", {}).get("isort", {}).get("known-first-party")
    if first_party is not None and name not in first_party:
        first_party.append(name)
    members = doc["tool"]["uv"]["workspace"].setdefault("members", [])
    if not any(fnmatch.fnmatch(f"domains/{name}", pattern) for pattern in members):  # a fork that lists members
        members.append(f"domains/{name}")
    path.write_text(tomlkit.dumps(doc))


def _remove_from_pyproject(root: Path, name: str) -> bool:
    path = root / "pyproject.toml"
    doc = tomlkit.parse(path.read_text())
    dist = distribution_name(name)
    changed = False
    deps = doc["project"]["dependencies"]
    if dist in deps:
        deps.remove(dist)
        changed = True
    sources = doc["tool"]["uv"].get("sources", {})
    if dist in sources:
        del sources[dist]
        changed = True
    first_party = doc.get("tool", {}).get("ruff", {}).get("lint", {}).get("isort", {}).get("known-first-party")
    if first_party is not None and name in first_party:
        first_party.remove(name)
        changed = True
    members = doc["tool"]["uv"].get("workspace", {}).get("members", [])
    if f"domains/{name}" in members:
        members.remove(f"domains/{name}")
        changed = True
    if changed:
        path.write_text(tomlkit.dumps(doc))
    return changed


def _workspace_locations(root: Path) -> list[str]:
    data = yaml.safe_load((root / "workspace.yaml").read_text()) or {}
    return [entry["python_module"].get("location_name", "") for entry in data.get("load_from", [])
            if isinstance(entry.get("python_module"), dict)]


def _add_to_workspace_yaml(root: Path, name: str) -> None:
    path = root / "workspace.yaml"
    if name in _workspace_locations(root):
        return
    text = path.read_text()
    path.write_text(text + ("" if text.endswith("\n") else "\n") + _location_block(name))
    if name not in _workspace_locations(root):  # the file's shape was not what we append to
        path.write_text(text)
        raise ScaffoldError(f"could not add the code location {name} to {path}: add it by hand:\n"
                            + _location_block(name))


def _remove_from_workspace_yaml(root: Path, name: str) -> bool:
    path = root / "workspace.yaml"
    text, block = path.read_text(), _location_block(name)
    if block in text:
        path.write_text(text.replace(block, ""))
        return True
    if name in _workspace_locations(root):
        raise ScaffoldError(f"{path} names the code location {name} in another form: remove it by hand")
    return False


def _dg_projects(root: Path) -> tomlkit.TOMLDocument | None:
    path = root / "dg.toml"
    return tomlkit.parse(path.read_text()) if path.is_file() else None


def _add_to_dg_toml(root: Path, name: str) -> bool:
    """Add ``domains/<name>`` to the dg workspace's projects (a fork without ``dg.toml`` is left alone)."""
    doc = _dg_projects(root)
    if doc is None:
        return False
    projects = doc.setdefault("workspace", tomlkit.table()).setdefault("projects", tomlkit.aot())
    if any(p.get("path") == f"domains/{name}" for p in projects):
        return False
    entry = tomlkit.table()
    entry["path"] = f"domains/{name}"
    projects.append(entry)
    (root / "dg.toml").write_text(tomlkit.dumps(doc))
    return True


def _remove_from_dg_toml(root: Path, name: str) -> bool:
    doc = _dg_projects(root)
    if doc is None:
        return False
    projects = doc.get("workspace", {}).get("projects", [])
    keep = [p for p in projects if p.get("path") != f"domains/{name}"]
    if len(keep) == len(projects):
        return False
    projects.clear()
    projects.extend(keep)
    (root / "dg.toml").write_text(tomlkit.dumps(doc))
    return True


def find_uv(root: Path) -> str:
    """uv on PATH, or the one ``scripts/bootstrap.sh`` installs into ``.tools/``."""
    for candidate in (shutil.which("uv"), root / ".tools" / "uv" / "bin" / "uv"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise ScaffoldError("uv is not installed: run scripts/bootstrap.sh (it installs one), then `uv lock && uv sync`")


def _uv(root: Path, *args: str, echo: Echo) -> None:
    command = [find_uv(root), *args]
    echo(f"$ {' '.join(['uv', *args])}")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}  # uv syncs the project's own .venv
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ScaffoldError(f"`uv {' '.join(args)}` failed (exit {done.returncode}):\n{done.stderr.strip()}")


def _sort_imports(root: Path, files: list[Path], echo: Echo) -> None:
    """Sort the new modules' imports the way the repository's ruff does.

    Where the domain's own imports go among the first-party ones depends on its name (before or
    after ``inloop``), so the template cannot fix the order; ruff (a dev dependency) can.
    """
    ruff = Path(sys.executable).with_name("ruff")
    ruff_path = str(ruff) if ruff.is_file() else shutil.which("ruff")
    python_files = [str(root / f) for f in files if f.suffix == ".py"]
    if ruff_path is None:
        echo("note: ruff not found; run `ruff check --fix --select I` on the new domain to sort its imports")
        return
    subprocess.run([ruff_path, "check", "--fix", "--select", "I", "--quiet", *python_files], cwd=root,
                   capture_output=True, check=False)


def _sync(root: Path, echo: Echo) -> None:
    _uv(root, "lock", "--quiet", echo=echo)
    _uv(root, "sync", "--quiet", echo=echo)


def new_domain(name: str, *, repo_root: Path, title: str | None = None, dry_run: bool = False, sync: bool = True,
               echo: Echo = print) -> ScaffoldResult:
    """Scaffold domain ``name`` into the workspace at ``repo_root`` (see the module docstring)."""
    validate_domain_name(name, repo_root)
    title = _check_title(title or name.replace("_", " ").capitalize())
    result = ScaffoldResult(name, repo_root)
    with tempfile.TemporaryDirectory(prefix=f"inloop-new-{name}-") as tmp:
        rendered = Path(tmp)
        result.files = _render(name, title, rendered)
        clashes = [f for f in result.files if (repo_root / f).exists()]
        if clashes:
            raise DomainNameError(f"{name!r}: these files already exist: {', '.join(map(str, clashes))}")
        result.edited = [Path("pyproject.toml"), Path("workspace.yaml")] \
            + ([Path("dg.toml")] if (repo_root / "dg.toml").is_file() else [])
        if dry_run:
            return result
        for rel in result.files:
            target = repo_root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(rendered / rel, target)
    _add_to_pyproject(repo_root, name)
    _add_to_workspace_yaml(repo_root, name)
    _add_to_dg_toml(repo_root, name)
    _sort_imports(repo_root, result.files, echo)
    if sync:
        try:
            _sync(repo_root, echo)
        except ScaffoldError as exc:
            raise ScaffoldError(f"{exc}\nThe domain's files and workspace entries are written: fix the cause and run "
                                f"`uv lock && uv sync`, or undo with `inloop remove-domain {name} --yes`.") from None
        result.synced = True
    return result


def remove_domain(name: str, *, repo_root: Path, sync: bool = True, echo: Echo = print) -> list[Path]:
    """Take domain ``name`` out of the workspace: its folders, its pyproject and workspace.yaml lines; re-sync."""
    if not SNAKE_CASE.match(name) or name in RESERVED_NAMES \
            or not (repo_root / "domains" / name / "pyproject.toml").is_file():
        raise DomainNameError(f"{name!r} is not a domain of this workspace (no {repo_root / 'domains' / name}"
                              "/pyproject.toml)")
    removed = []
    for folder in (repo_root / "domains" / name, repo_root / "tests" / "domains" / name):
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(folder.relative_to(repo_root))
    if _remove_from_pyproject(repo_root, name):
        removed.append(Path("pyproject.toml"))
    if _remove_from_workspace_yaml(repo_root, name):
        removed.append(Path("workspace.yaml"))
    if _remove_from_dg_toml(repo_root, name):
        removed.append(Path("dg.toml"))
    if sync:
        _sync(repo_root, echo)
    return removed


def report(result: ScaffoldResult, *, dry_run: bool = False) -> str:
    """What was (or would be) created, and the next steps, for the terminal."""
    name = result.name
    lines = [("Would create" if dry_run else "Created") + f" domain {name} in {result.root}:"]
    lines += [f"  {path}" for path in result.files]
    lines.append(("Would edit" if dry_run else "Edited") + ": pyproject.toml (dependency, [tool.uv.sources], ruff's "
                 "first-party list), workspace.yaml (its Dagster code location), dg.toml (its dg project)"
                 + ("" if dry_run or not result.synced else "; ran uv lock and uv sync"))
    if dry_run:
        return "\n".join(lines)
    steps = [] if result.synced else ["uv lock && uv sync    # installs the domain's entry point"]
    steps += [f"inloop check-project {name}    # lists the card's TODO(team) questions: answer them with the "
              "stakeholders",
              f".venv/bin/python -m pytest tests/domains/{name}",
              f"inloop demo run {demo_ref(name)}",
              f"inloop up    # Dagster code location {name}, the API's /{name}/predictions, the console's pages",
              f"git add domains/{name} tests/domains/{name} pyproject.toml uv.lock workspace.yaml dg.toml"]
    lines.append("Next steps:")
    lines += [f"  {i}. {step}" for i, step in enumerate(steps, 1)]
    return "\n".join(lines)
