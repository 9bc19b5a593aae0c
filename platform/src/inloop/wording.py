"""A concern's metric in the card's words: "Age of the model in service: 91 days (must be at most 90 days)".

Used wherever a person reads a metric (the console's scoreboard, concern pages, alert evidence),
so the same value reads the same everywhere. Shares print as percentages, counts of one take the
singular ("1 record", not "1 records"), and the threshold is said in words ("at most").
"""

from __future__ import annotations

import math

from inloop.cards import Concern, Metric, Threshold

__all__ = ["OP_WORDS", "count_of", "describe", "metric_label", "quantity", "requirement", "singular_unit"]

OP_WORDS = {"<=": "at most", ">=": "at least", "==": "exactly", "<": "below", ">": "above"}

_IRREGULAR = {"people": "person", "children": "child", "series": "series", "analyses": "analysis"}


def _singular_word(word: str) -> str:
    lower = word.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if lower.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")) and len(word) > 2:
        return word[:-1]
    return word


def singular_unit(unit: str) -> str:
    """The unit for a count of one: the head noun made singular ("invoice keys" -> "invoice key",
    "clicks per impression" -> "click per impression", "AUC points" -> "AUC point")."""
    words = unit.split()
    if not words:
        return unit
    for joint in ("of", "per", "in", "for"):
        if joint in words[1:]:
            at = words.index(joint, 1)
            words[at - 1] = _singular_word(words[at - 1])
            return " ".join(words)
    words[-1] = _singular_word(words[-1])
    return " ".join(words)


def _is_share(unit: str) -> bool:
    return unit == "share" or unit.startswith("share of ")


def _number(value: float, digits: int = 3) -> str:
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.1f}"


def quantity(value: float | None, unit: str = "") -> str:
    """``value`` with its unit as people say it: "91 days", "1 record", "93.5 % of page views"."""
    if value is None or not math.isfinite(value):
        return "no value (the measurement failed)"
    if _is_share(unit):
        pct = value * 100
        text = f"{pct:.0f} %" if float(round(pct, 6)).is_integer() else f"{pct:.3g} %"
        rest = unit.removeprefix("share").strip()
        return f"{text} {rest}".strip()
    unit = unit.strip()
    if not unit or unit in ("count", "number"):
        return _number(value)
    shown = singular_unit(unit) if value == 1 else unit
    return f"{_number(value)} {shown}"


def requirement(threshold: Threshold, unit: str = "") -> str:
    """The threshold in words: "must be at most 90 days"."""
    return f"must be {OP_WORDS[threshold.op]} {quantity(threshold.value, unit)}"


def metric_label(concern: Concern) -> str:
    """The metric's business name from the card (``metric.label``), else its code name made readable."""
    metric: Metric | None = concern.metric
    if metric is None:
        return concern.statement.rstrip(".")
    if metric.label:
        return metric.label
    return metric.name.replace("_", " ").capitalize()


def describe(concern: Concern, value: float | None, threshold: Threshold | None = None) -> str:
    """"<label>: <value> (<requirement>)", e.g. "Age of the model in service: 91 days (must be at most 90 days)"."""
    unit = concern.metric.unit if concern.metric else ""
    threshold = threshold or concern.threshold
    text = f"{metric_label(concern)}: {quantity(value, unit)}"
    if threshold is not None:
        text += f" ({requirement(threshold, unit)})"
    return text


def count_of(n: int, noun: str, plural: str | None = None) -> str:
    """"1 claim", "2 claims", "1 entry", "3 entries": a count with its noun in the right number."""
    if n == 1:
        return f"{n:,} {noun}"
    if plural is None:
        plural = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else (
            noun + "es" if noun.endswith(("s", "x", "ch", "sh")) else noun + "s")
    return f"{n:,} {plural}"
