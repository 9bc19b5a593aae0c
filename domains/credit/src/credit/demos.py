"""The credit domain's worst-case demos (``inloop demo run credit:<id>``)."""

from __future__ import annotations

from inloop.demos import Demo

DEMOS: dict[str, Demo] = {}
