"""Replay: read back what the system saw and answered for one request, and re-run it.

"Make sure you log your features": :func:`replay` returns the prediction-log entry for a
request id (time, domain, component, model and policy version, the exact input features, the
output, the live-test-set flag). With ``against=...`` it hands the same inputs to the domain's
*replay runner* and shows how the output differs.

A domain opts in by declaring its runner in its plugin (``domain.py``)::

    def _replay_runner() -> ReplayRunner:
        from credit.replay import rerun
        return rerun

    domain = DomainPlugin(..., replay_runner=_replay_runner)

    def rerun(record: PredictionEntry, against: str) -> dict:
        '''Score ``record.features`` with the model version ``against`` names.

        ``against`` is an alias ("champion") or a version ("7"). Return
        ``{"output": <dict shaped like record.output>, "model_version": "<version used>"}``;
        optional keys: ``"model_name"``, ``"policy_version"``, ``"notes"``.
        Raise ``LookupError``/``ValueError`` with a clear message when ``against`` is unknown.
        '''
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from inloop import domains as domain_registry
from inloop.predictions import PredictionEntry, UnknownRequestError, get_prediction

__all__ = [
    "OutputChange",
    "Replay",
    "ReplayNotSupportedError",
    "Rerun",
    "UnknownRequestError",
    "diff_outputs",
    "replay",
]

_MISSING = object()

#: ``runner(record, against) -> {"output": {...}, "model_version": "..."}`` (see module docstring).
ReplayRunner = Callable[[PredictionEntry, str], Mapping[str, Any]]


class ReplayNotSupportedError(RuntimeError):
    """The prediction exists, but its domain cannot re-run it (no runner, or domain not installed)."""


@dataclass(frozen=True)
class OutputChange:
    """One leaf of the output that differs between the logged answer and the re-run."""

    path: str
    logged: Any
    rerun: Any

    def __str__(self) -> str:
        return f"{self.path}: {self.logged!r} -> {self.rerun!r}"


@dataclass(frozen=True)
class Rerun:
    """The same inputs, answered by another model version."""

    against: str
    model_name: str | None
    model_version: str | None
    policy_version: str | None
    output: dict[str, Any]
    changes: list[OutputChange]
    notes: str | None = None

    @property
    def same_output(self) -> bool:
        return not self.changes


@dataclass(frozen=True)
class Replay:
    """What the prediction log holds for one request, and optionally a re-run of it."""

    record: PredictionEntry
    rerun: Rerun | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view (the API and the post-mortem drafts use it)."""
        r = self.record
        out: dict[str, Any] = {
            "request_id": r.request_id,
            "created_at": r.created_at.isoformat(),
            "domain": r.domain,
            "component": r.component,
            "model_name": r.model_name,
            "model_version": r.model_version,
            "policy_version": r.policy_version,
            "subject_id": r.subject_id,
            "live_test_set": r.live_test_set,
            "latency_ms": r.latency_ms,
            "features": r.features,
            "output": r.output,
        }
        if self.rerun is not None:
            out["rerun"] = {
                "against": self.rerun.against,
                "model_name": self.rerun.model_name,
                "model_version": self.rerun.model_version,
                "policy_version": self.rerun.policy_version,
                "output": self.rerun.output,
                "same_output": self.rerun.same_output,
                "changes": [{"path": c.path, "logged": c.logged, "rerun": c.rerun} for c in self.rerun.changes],
                "notes": self.rerun.notes,
            }
        return out

    def describe(self) -> str:
        """A plain-text report of the replay, as the CLI prints it."""
        r = self.record
        lines = [
            f"request     {r.request_id}",
            f"time        {r.created_at.isoformat()}",
            f"domain      {r.domain}",
            f"component   {r.component}",
            f"model       {r.model_name or '-'} version {r.model_version or '-'}",
            f"policy      {r.policy_version or '-'}",
            f"subject     {r.subject_id or '-'}",
            f"live test   {'yes (model did not change the outcome)' if r.live_test_set else 'no'}",
            "features:",
            *[f"  {k} = {v!r}" for k, v in r.features.items()],
            "output:",
            *[f"  {k} = {v!r}" for k, v in r.output.items()],
        ]
        if self.rerun is not None:
            rr = self.rerun
            lines.append(f"re-run against {rr.against!r}: model {rr.model_name or r.model_name or '-'} "
                         f"version {rr.model_version or '-'}, policy {rr.policy_version or '-'}")
            if rr.same_output:
                lines.append("  same output as logged")
            else:
                lines += [f"  changed {c}" for c in rr.changes]
            if rr.notes:
                lines.append(f"  notes: {rr.notes}")
        return "\n".join(lines)


def diff_outputs(logged: Any, rerun: Any, path: str = "output") -> list[OutputChange]:
    """Leaf-by-leaf differences between two outputs (dicts and lists are walked, in order)."""
    if isinstance(logged, Mapping) and isinstance(rerun, Mapping):
        changes: list[OutputChange] = []
        for key in [*logged.keys(), *(k for k in rerun if k not in logged)]:
            a, b = logged.get(key, _MISSING), rerun.get(key, _MISSING)
            sub = f"{path}.{key}"
            if a is _MISSING or b is _MISSING:
                changes.append(OutputChange(sub, None if a is _MISSING else a, None if b is _MISSING else b))
            else:
                changes += diff_outputs(a, b, sub)
        return changes
    if isinstance(logged, list) and isinstance(rerun, list) and len(logged) == len(rerun):
        changes = []
        for i, (a, b) in enumerate(zip(logged, rerun, strict=True)):
            changes += diff_outputs(a, b, f"{path}[{i}]")
        return changes
    return [] if logged == rerun else [OutputChange(path, logged, rerun)]


def replay_runner(domain_name: str) -> ReplayRunner:
    """The domain's registered runner; raises :class:`ReplayNotSupportedError` with the reason."""
    try:
        domain = domain_registry.get_domain(domain_name)
    except domain_registry.UnknownDomainError as exc:
        raise ReplayNotSupportedError(f"cannot re-run: {exc}") from None
    if domain.replay_runner is None:
        raise ReplayNotSupportedError(
            f"domain {domain_name!r} has no replay runner yet, so its predictions can be read back but not "
            "re-run; it declares one with DomainPlugin(replay_runner=...) in its domain.py"
        )
    return domain.replay_runner()


def replay(request_id: str, against: str | None = None, *, db_url: str | None = None) -> Replay:
    """What was logged for ``request_id``; with ``against``, also re-run it on that model version.

    Raises :class:`UnknownRequestError` for an id the log does not hold, and
    :class:`ReplayNotSupportedError` when ``against`` is given but the domain has no runner.
    """
    request_id = request_id.strip()
    record = get_prediction(request_id, db_url)
    if against is None:
        return Replay(record)
    against = against.strip()
    if not against:
        raise ValueError("against must name a model alias or version (e.g. 'champion')")
    runner = replay_runner(record.domain)
    result = runner(record, against)
    if not isinstance(result, Mapping) or not isinstance(result.get("output"), Mapping):
        raise TypeError(f"the replay runner of {record.domain!r} must return a dict with an 'output' dict, "
                        f"got {type(result).__name__}")
    output = dict(result["output"])
    return Replay(record, Rerun(
        against=against,
        model_name=result.get("model_name", record.model_name),
        model_version=None if result.get("model_version") is None else str(result["model_version"]),
        policy_version=result.get("policy_version", record.policy_version),
        output=output,
        changes=diff_outputs(record.output, output),
        notes=result.get("notes"),
    ))
