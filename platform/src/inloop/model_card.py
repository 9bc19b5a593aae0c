"""Model cards (Mitchell et al., 2019) for a domain's champion, generated from what the platform holds.

Sources: the project card (intended use, stakeholders, concerns -> ethical considerations, caveats),
the model version's MLflow run (parameters, metrics, dataset figures, promotion gates) and the
run's slice table (quantitative analyses per subgroup). :func:`render_model_card` gives Markdown
(``inloop model-card DOMAIN``), :func:`log_model_card` stores it on the run at promotion, and the
console's *Model card* page shows it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from inloop import tracking
from inloop.readiness import rubric

__all__ = ["ModelCard", "SECTIONS", "build_model_card", "log_model_card", "render_model_card", "review_of"]

#: The sections of Mitchell et al. (2019), in order.
SECTIONS = ("Model details", "Intended use", "Factors", "Metrics", "Evaluation data", "Training data",
            "Quantitative analyses", "Ethical considerations", "Caveats and recommendations")

ARTIFACT = "model_card.md"


@dataclass
class ModelCard:
    domain: str
    model_name: str
    version: str
    aliases: list[str]
    run_id: str
    created: dt.datetime
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    version_tags: dict[str, str]
    slices: pd.DataFrame | None
    training_statistics: dict[str, Any] | None
    card: Any  # inloop.cards.ProjectCard
    notes: list[str] = field(default_factory=list)


def _load_artifact(run: Any, path: str) -> Any | None:
    import mlflow

    try:
        local = Path(mlflow.artifacts.download_artifacts(f"{run.info.artifact_uri}/{path}"))
    except Exception:
        return None
    if path.endswith(".csv"):
        return pd.read_csv(local)
    text = local.read_text()
    return json.loads(text) if path.endswith(".json") else text


def build_model_card(domain: str, version: str | None = None) -> ModelCard:
    """Gather the card's sources for ``version`` (default: the champion)."""
    from inloop.domains import get_domain
    from inloop.serving import served_model

    spec = served_model(domain)
    project = get_domain(domain).card()
    mlc = tracking.client()
    version = str(version or tracking.champion_version(spec.model_name) or "")
    if not version:
        raise LookupError(f"{spec.model_name} has no champion: train and promote one first (or pass a version)")
    mv = mlc.get_model_version(spec.model_name, version)
    run = mlc.get_run(mv.run_id)
    registered = mlc.get_registered_model(spec.model_name)
    aliases = sorted(a for a, v in (registered.aliases or {}).items() if str(v) == version)
    notes: list[str] = []
    slices = None
    if spec.slices_artifact:
        raw = _load_artifact(run, spec.slices_artifact)
        if isinstance(raw, pd.DataFrame):
            slices = raw
        elif isinstance(raw, dict) and isinstance(raw.get("slices"), list):
            slices = pd.DataFrame(raw["slices"])
        elif isinstance(raw, list):
            slices = pd.DataFrame(raw)
        else:
            notes.append(f"the run has no slice table ({spec.slices_artifact})")
    stats = _load_artifact(run, "training_statistics.json")
    return ModelCard(domain, spec.model_name, version, aliases, mv.run_id,
                     dt.datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=dt.UTC),
                     dict(run.data.params), dict(run.data.metrics), dict(run.data.tags), dict(mv.tags or {}),
                     slices, stats if isinstance(stats, dict) else None, project, notes)


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in r) + " |" for r in rows]
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def review_of(version_tags: dict[str, str]) -> str:
    """Who reviewed the version's promotion (``inloop models promote --reviewer``), in words."""
    reviewer = (version_tags.get("inloop.reviewed_by") or "").strip()
    if reviewer:
        return f"reviewed by {reviewer} (inloop models promote --reviewer)"
    if version_tags.get("inloop.review") == "unreviewed":
        return "unreviewed: promoted without a named reviewer"
    return "unreviewed: promoted by the training pipeline's gates, not through a reviewed promotion"


@rubric("model-1", how="automated", what="model card per champion: intended use, factors, metrics, slices, ethics, caveats")
def render_model_card(card: ModelCard) -> str:
    """The card as Markdown, one heading per Mitchell et al. section."""
    p = card.card
    bc = p.business_case
    lines = [f"# Model card: {card.model_name} v{card.version} ({card.domain})", "",
             f"_Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by inloop from the project card, "
             f"MLflow run `{card.run_id}` and its slice table._", ""]

    lines += ["## Model details", "",
              f"- **Model**: {card.model_name}, registered version {card.version}"
              + (f" (aliases: {', '.join(card.aliases)})" if card.aliases else ""),
              f"- **Registered**: {card.created:%Y-%m-%d %H:%M} UTC; MLflow run `{card.run_id}`",
              f"- **Project**: {p.title}. {p.summary}",
              f"- **Owner / point of contact**: {bc.stakeholder.name} ({bc.stakeholder.role}), {bc.stakeholder.contact}",
              f"- **Promotion**: {card.version_tags.get('inloop.promotion', 'unknown')}"
              + (f", previous champion v{card.version_tags['inloop.previous_champion']}"
                 if card.version_tags.get("inloop.previous_champion") else ""),
              f"- **Review**: {review_of(card.version_tags)}", ""]
    if card.params:
        lines += ["Parameters:", "", *_table(sorted((k, v[:120]) for k, v in card.params.items()),
                                              ("parameter", "value")), ""]

    lines += ["## Intended use", "", f"- **User story**: {bc.user_story}", f"- **Optimizes**: {bc.optimized}",
              f"- **KPI**: {bc.kpi.name} — now {bc.kpi.current_value}, target {bc.kpi.target}",
              f"- **Replaces**: {bc.current_approach}",
              "- **Out of scope**: any use outside the user story above; the model's output is one input to the "
              "decision the project card describes, never a decision about a person on its own.", ""]

    slice_columns: list[str] = []
    if card.slices is not None and not card.slices.empty:
        for col in ("column", "slice", "segment"):
            if col in card.slices.columns:
                slice_columns = sorted({str(v).split(":")[0].split("=")[0] for v in card.slices[col]})
                break
    lines += ["## Factors", "",
              "Groups the evaluation reports separately (relevant factors the stakeholders named): "
              + (", ".join(f"`{c}`" for c in slice_columns) if slice_columns else "none recorded") + ".",
              "Concerns that name groups or contexts:", ""]
    lines += [f"- **{c.id}** ({c.raised_by}): {c.statement}" for c in p.concerns] + [""]

    lines += ["## Metrics", "", "Each stakeholder concern has a metric, a threshold and a check:", ""]
    lines += _table([(c.id, c.metric.name if c.metric else "—", str(c.threshold) if c.threshold else "—",
                      c.check or "—", c.status) for c in p.concerns],
                    ("concern", "metric", "threshold", "check", "status")) + [""]

    data_params = {k: v for k, v in card.params.items() if any(w in k for w in ("rows", "features", "until",
                                                                                 "rate", "interactions", "window"))}
    lines += ["## Evaluation data", "",
              "Held out by time after the training window (the most recent period), never seen in training; "
              "metrics below are on that holdout. Live performance is measured on the live test set once "
              "outcomes arrive (see the console's Monitoring page).", ""]
    lines += ["## Training data", ""]
    if data_params:
        lines += [f"- **{k}**: {v[:300]}" for k, v in sorted(data_params.items())]
    if card.training_statistics:
        feats = card.training_statistics.get("features", {})
        lines += [f"- **rows**: {card.training_statistics.get('rows')}",
                  "- **features**: " + ", ".join(f"{k} ({v.get('kind', '?')})" for k, v in feats.items())]
    if not data_params and not card.training_statistics:
        lines.append("- the run records no dataset figures")
    lines.append("")

    lines += ["## Quantitative analyses", ""]
    if card.metrics:
        lines += _table([(k, _fmt(v)) for k, v in sorted(card.metrics.items()) if not k.startswith("slice_")],
                        ("metric", "value")) + [""]
    if card.slices is not None and not card.slices.empty:
        lines += ["Per slice (unitary results):", "",
                  *_table([tuple(_fmt(v) for v in row) for row in card.slices.itertuples(index=False)],
                          tuple(str(c) for c in card.slices.columns)), ""]
    for tag, title in (("inloop.training_gates", "Promotion gates at training"),
                       ("inloop.promotion_gates", "Promotion gates" if "inloop.training_gates" not in card.version_tags
                        else "Canary gates at promotion")):
        gates = card.version_tags.get(tag)
        if gates:
            lines += [f"{title}:", "",
                      *_table([(g["name"], "passed" if g["passed"] else "FAILED", g["detail"])
                               for g in json.loads(gates)], ("gate", "result", "detail")), ""]

    lines += ["## Ethical considerations", "", "What the stakeholders said must not happen (their worst cases):", ""]
    lines += [f"- **{c.id}** — worst case: {c.worst_case}" for c in p.concerns] + [""]

    planned = [c for c in p.concerns if c.status == "planned"]
    lines += ["## Caveats and recommendations", ""]
    lines += [f"- Concern **{c.id}** is agreed but its check is not built yet (planned)." for c in planned]
    lines += [f"- Alternative considered: **{a.name}** ({a.kind}) — {a.decision}" for a in bc.alternatives]
    lines += [f"- If the service is down for an hour: {p.outage_impact.one_hour.impact}",
              "- Re-check this card after every retraining: it is regenerated at each promotion.",
              *[f"- {n}" for n in card.notes], ""]
    return "\n".join(lines)


def log_model_card(domain: str, version: str | None = None) -> str:
    """Render the card and log it as ``model_card.md`` on the version's run; returns the Markdown."""
    card = build_model_card(domain, version)
    text = render_model_card(card)
    mlc = tracking.client()
    mlc.log_text(card.run_id, text, ARTIFACT)
    mlc.set_model_version_tag(card.model_name, card.version, "inloop.model_card", ARTIFACT)
    return text
