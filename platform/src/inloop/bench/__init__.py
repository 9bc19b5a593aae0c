"""``inloop bench``: what the platform costs, as ratios against the bare work, and how it grows.

Each measurement runs the platform's way and the bare way side by side in one run (ratios hold
on a noisy shared machine; absolute times do not), repeats, and reports the median with min and
max. Measurements come from the platform (:mod:`inloop.bench.platform_costs`) and from domains
that declare a ``bench`` in their plugin (``DomainPlugin(bench=...)`` returns a function
``(quick: bool, echo) -> list[Figure]``). Results go to ``bench/results/<timestamp>.json`` and ``.md``,
with PNG plots for scaling curves. Where a goal is not met the table says so.
"""

from inloop.bench.report import Figure, Sample, repeat

__all__ = ["Figure", "Sample", "repeat"]
