"""The recommender's benchmark for ``inloop bench``: the page service against the bare ranking.

On the default synthetic shop (quick: the small test shop), the same test-week page requests are
rendered by :meth:`PageService.render` (three boxes with provenance, shared-account detection, no
prediction logging) and, interleaved, ranked the bare way: the account's history as of the view, the
folded-in vector and :func:`rank_for_account` over the page's pool — the work the "recommended for
you" box cannot do without. Per-request latencies in milliseconds (p50, p95) and their ratio; the
``ms`` figures are judged by ``inloop.bench.compare`` against the last committed result, so a slower
page service is a finding (``tests/domains/recommender/test_bench_regression.py``). The time goals
(page render p50 under 50 ms; ALS training under 10 s at the test shop's size) live here as figures
with a goal, not as test assertions: the suite never judges wall-clock time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from inloop.bench.report import Figure, Sample

__all__ = ["GROUP", "measure"]

Echo = Callable[[str], None]
GROUP = "Page service (recommender, in process, logging off)"


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q * 100))


def measure(quick: bool, echo: Echo) -> list[Figure]:
    """The ``bench`` hook: page render vs bare ranking latency, ``runs`` passes over the same requests."""
    from recommender.lib.page import PageService
    from recommender.lib.recommendations import rank_for_account
    from recommender.lib.shop import ShopSpec, generate_shop
    from recommender.lib.traffic import page_requests_from_sessions

    spec = ShopSpec(seed=7, n_items=600, n_accounts=800) if quick else ShopSpec(seed=7)
    requests_n, runs = (200, 3) if quick else (1_000, 5)
    echo(f"  recommender: shop of {spec.n_items} articles, {spec.n_accounts} accounts; training")
    shop = generate_shop(spec)
    service, split = PageService.trained_on(shop)
    requests = page_requests_from_sessions(split.test, shop.shoppers, limit=requests_n, seed=7)

    def bare(account_id: int, page: str, at: Any) -> None:
        history = service.history.of(account_id, before=at)
        items, weights = history.weighted_items()
        vector = service.model.account_vector(items, weights)
        rank_for_account(service.assortment.for_page(page), items, vector, service.model, service.popularity,
                         service.config.box_size, stage="serving")

    page_ms: dict[str, list[float]] = {"p50": [], "p95": []}
    bare_ms: dict[str, list[float]] = {"p50": [], "p95": []}
    for run in range(runs):
        rendered, ranked = [], []
        for r in requests:  # interleaved, so both see the same machine load
            start = time.perf_counter()
            service.render(r.account_id, r.page, r.device, r.at, log=False)
            rendered.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            bare(r.account_id, r.page, r.at)
            ranked.append((time.perf_counter() - start) * 1000)
        for q, key in ((0.5, "p50"), (0.95, "p95")):
            page_ms[key].append(_percentile(rendered, q))
            bare_ms[key].append(_percentile(ranked, q))
        echo(f"  run {run + 1}/{runs}: page p50 {page_ms['p50'][-1]:.2f} ms, bare p50 {bare_ms['p50'][-1]:.2f} ms")
    ratio = Sample(tuple(p / b for p, b in zip(page_ms["p50"], bare_ms["p50"], strict=True)))
    note = f"{len(requests)} test-week page requests x {runs} runs"
    page_p50 = Sample(tuple(page_ms["p50"]))
    training = service.model.training_seconds
    return [
        # The goals that once were test assertions (a loaded test machine failed them; here they are figures).
        Figure.of(GROUP, "page render (3 boxes): p50", "ms", page_p50, note=note, goal="< 50 ms",
                  met=page_p50.median < 50),
        Figure.of(GROUP, "ALS training", "s", Sample((training,)),
                  note=f"one training on the shop above ({spec.n_accounts} accounts, {spec.n_items} articles)",
                  goal="< 10 s at the test shop's size" if quick else None, met=training < 10 if quick else None),
        Figure.of(GROUP, "page render (3 boxes): p95", "ms", Sample(tuple(page_ms["p95"])), note=note),
        Figure.of(GROUP, "bare ranking (recommendations only): p50", "ms", Sample(tuple(bare_ms["p50"])), note=note),
        Figure.of(GROUP, "bare ranking (recommendations only): p95", "ms", Sample(tuple(bare_ms["p95"])), note=note),
        Figure.of(GROUP, "p50 page render / bare ranking", "ratio", ratio,
                  note="what the page service (last seen, new in, provenance, shared-account check) adds"),
    ]
