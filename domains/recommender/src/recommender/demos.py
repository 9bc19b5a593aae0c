"""The recommender's worst-case demos (registered through the domain's ``demos_module``)."""

from __future__ import annotations

from inloop.demos import Demo

DEMOS: dict[str, Demo] = {}
