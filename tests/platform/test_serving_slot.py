"""The platform serving slot (``inloop.serving.ServedModels``): loading, atomic reload, readiness,
sticky canary routing, the champion's shadow answer and the canary block of the log entry.

The loader is the domain's input, so here it is a small function returning plain objects; the slot,
the canary hash and the HTTP 503 path are the real ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from inloop.api.serving import live, served_models
from inloop.canary import routes_to_challenger
from inloop.predictions import PredictionEntry
from inloop.serving import ModelSet, ModelsStatus, NoChampionError, ServedModels


@dataclass(frozen=True)
class Scorer:
    """A stand-in for a domain's decision service: it answers with its version and a score."""

    version: str
    fails: bool = False

    def score(self, subject: str) -> dict[str, Any]:
        if self.fails:
            raise ValueError(f"v{self.version} cannot score {subject}: non-finite score")
        return {"score": len(subject) / 10, "by": self.version}


class Registry:
    """What the loader reads: the champion and challenger versions a test sets, or an outage."""

    def __init__(self, champion: str | None, challenger: str | None = None) -> None:
        self.champion, self.challenger = champion, challenger
        self.outage: Exception | None = None
        self.started, self.release = threading.Event(), threading.Event()
        self.release.set()  # loads run straight through unless a test holds them

    def load(self) -> ModelSet[Scorer]:
        self.started.set()
        self.release.wait()
        if self.outage is not None:
            raise self.outage
        if self.champion is None:
            raise LookupError("no champion registered for shop-model")
        challenger = Scorer(self.challenger) if self.challenger is not None else None
        return ModelSet(Scorer(self.champion), self.champion, f"shop-model v{self.champion}",
                        challenger=challenger, challenger_version=self.challenger)


def _slot(registry: Registry, share: float = 0.2) -> ServedModels[Scorer]:
    return ServedModels("shop", registry.load, not_loaded="no champion shop model: run the shop pipeline",
                        routes_to_challenger=lambda key: routes_to_challenger(key, share=share))


def _entry() -> PredictionEntry:
    return PredictionEntry(domain="shop", component="score", features={}, output={"score": 0.1})


def test_a_failed_reload_keeps_the_loaded_models_serving_and_a_good_one_replaces_them() -> None:
    registry = Registry(champion="1")
    slot = _slot(registry)
    assert slot.load() == "shop-model v1"
    assert slot.status.ready and slot.status.detail == "shop-model v1"

    registry.champion, registry.outage = "2", ConnectionError("MLflow unreachable")
    with pytest.raises(ConnectionError):
        slot.reload()
    assert slot.live().champion.version == "1"  # the old model still answers
    assert slot.status.ready
    assert "reload failed (ConnectionError: MLflow unreachable); still serving the loaded model" in slot.status.detail

    registry.outage = None
    assert slot.reload() == "shop-model v2"
    assert slot.live().champion.version == "2" and slot.status.detail == "shop-model v2"


def test_requests_keep_the_old_models_while_a_reload_is_loading() -> None:
    registry = Registry(champion="1")
    slot = _slot(registry)
    slot.load()
    registry.champion = "2"
    registry.started.clear()
    registry.release.clear()  # the next registry read blocks until the test releases it
    reloading = threading.Thread(target=slot.reload)
    reloading.start()
    assert registry.started.wait(10)
    snapshot = slot.live()
    assert snapshot.champion.version == "1"  # served while the new model loads
    registry.release.set()
    reloading.join(10)
    assert slot.live().champion.version == "2"
    assert snapshot.champion.version == "1"  # a request's snapshot never changes under it


def test_without_a_champion_nothing_serves_ready_says_why_and_http_answers_503() -> None:
    registry = Registry(champion=None)
    slot = _slot(registry)
    assert slot.status == ModelsStatus(ready=False, detail="models not loaded yet")
    with pytest.raises(LookupError, match="no champion registered"):
        slot.load()
    assert not slot.status.ready
    assert slot.status.detail == "models not loaded: LookupError: no champion registered for shop-model"
    with pytest.raises(NoChampionError, match="run the shop pipeline"):
        slot.live()
    # A reload that fails again says models are not loaded (there is nothing older to keep serving).
    with pytest.raises(LookupError):
        slot.reload()
    assert not slot.status.ready and slot.status.detail.startswith("models not loaded:")

    app = FastAPI()
    app.state.served_models = {"shop": slot}

    @app.get("/shop/score")
    def score(subject: str, models: Annotated[ServedModels[Scorer], Depends(served_models("shop"))]) -> dict[str, Any]:
        return live(models).route(subject).model.score(subject)

    with TestClient(app) as client:
        refused = client.get("/shop/score", params={"subject": "a-1"})
        assert refused.status_code == 503 and refused.json()["detail"] == "no champion shop model: run the shop pipeline"
        registry.champion = "1"
        slot.reload()
        served = client.get("/shop/score", params={"subject": "a-1"})
        assert served.status_code == 200 and served.json()["by"] == "1"


def test_start_up_load_forgets_what_served_before() -> None:
    registry = Registry(champion="1")
    slot = _slot(registry)
    slot.load()
    registry.champion = None
    with pytest.raises(LookupError):
        slot.load()  # load() is the start-up: a failure leaves nothing serving (reload() would keep v1)
    with pytest.raises(NoChampionError):
        slot.live()


def test_the_canary_share_is_sticky_per_subject_and_survives_a_reload() -> None:
    registry = Registry(champion="1", challenger="2")
    slot = _slot(registry, share=0.2)
    assert slot.load() == "shop-model v1; challenger v2 serves " + f"{_share_text()} (canary)"
    subjects = [f"account:{i}" for i in range(2000)]
    first = {s: slot.live().route(s).role for s in subjects}
    share = sum(role == "challenger" for role in first.values()) / len(subjects)
    assert 0.16 <= share <= 0.24, share  # the hash splits close to the asked share
    assert {s: slot.live().route(s).role for s in subjects} == first  # every subject always to the same model
    registry.challenger = "3"
    slot.reload()
    again = {s: slot.live().route(s) for s in subjects}
    assert {s: r.role for s, r in again.items()} == first  # a new challenger takes over the same subjects
    assert all(r.model.version == ("3" if r.role == "challenger" else "1") for r in again.values())


def test_no_challenger_or_one_equal_to_the_champion_means_no_canary() -> None:
    registry = Registry(champion="1", challenger="1")
    slot = _slot(registry, share=1.0)
    assert slot.load() == "shop-model v1"  # the same version twice is one model: no canary claimed
    route = slot.live().route("account:7")
    assert route.role == "champion" and route.model.version == "1"
    entry = _entry()
    route.stamp(entry, lambda champion: champion.score("account:7"))
    assert "canary" not in entry.output and route.canary_block() is None


def test_a_canary_request_logs_the_champions_shadow_answer_beside_the_challengers() -> None:
    registry = Registry(champion="1", challenger="2")
    slot = _slot(registry, share=1.0)  # everyone to the challenger
    slot.load()
    route = slot.live().route("account:42")
    assert route.role == "challenger" and route.model.version == "2"
    served = route.model.score("account:42")
    shadowed: list[str] = []

    def champion_answer(champion: Scorer) -> dict[str, Any]:
        shadowed.append(champion.version)
        return {"champion_score": champion.score("account:42")["score"]}

    entry = _entry()
    route.stamp(entry, champion_answer)
    assert shadowed == ["1"]  # the champion, not the challenger, gave the shadow answer
    assert entry.output["canary"] == {"role": "challenger", "champion_version": "1", "challenger_version": "2",
                                      "champion_score": served["score"]}


def test_a_champion_request_is_marked_but_not_shadowed() -> None:
    registry = Registry(champion="1", challenger="2")
    slot = _slot(registry, share=0.0)  # nobody to the challenger
    slot.load()
    route = slot.live().route("account:42")
    shadowed: list[str] = []

    def champion_answer(champion: Scorer) -> dict[str, Any]:
        shadowed.append(champion.version)
        return {}

    entry = _entry()
    route.stamp(entry, champion_answer)
    assert shadowed == []  # the champion already answered: nothing to compute beside it
    assert entry.output["canary"] == {"role": "champion", "champion_version": "1", "challenger_version": "2"}


def test_a_failing_shadow_is_recorded_and_the_challengers_answer_stands() -> None:
    registry = Registry(champion="1", challenger="2")
    slot = _slot(registry, share=1.0)
    slot.load()
    route = slot.live().route("account:9")
    broken = Scorer("1", fails=True)
    entry = _entry()
    route.stamp(entry, lambda champion: broken.score("account:9"))
    assert entry.output["score"] == 0.1  # the served answer is untouched
    assert entry.output["canary"]["champion_error"] == "v1 cannot score account:9: non-finite score"
    assert entry.output["canary"]["role"] == "challenger"


def _share_text() -> str:
    from inloop.settings import get_settings

    return f"{get_settings().canary_share:.0%}"


def _serving_domains() -> list[str]:
    from inloop.domains import discover_domains

    return [name for name, d in discover_domains().items() if d.served_models is not None and d.api is not None]


@pytest.mark.parametrize("domain", _serving_domains())
def test_a_domain_api_module_holds_no_serving_state(domain: str) -> None:
    """The slot holds what serves; the domain's route module keeps only models and the call into its decision."""
    import _thread
    import sys

    from inloop.domains import get_domain

    plugin = get_domain(domain)
    assert plugin.api is not None and plugin.served_models is not None
    slot = plugin.served_models()
    assert isinstance(slot, ServedModels) and slot is not plugin.served_models()  # a new slot per app
    modules = {route.endpoint.__module__ for route in plugin.api().router.routes if isinstance(route, APIRoute)}
    assert modules
    mutable = (dict, list, set, bytearray, _thread.LockType, _thread.RLock)
    for module in modules:
        held = {name: type(value).__name__ for name, value in vars(sys.modules[module]).items()
                if isinstance(value, mutable) and not name.startswith("__")}
        assert held == {}, f"{module} holds serving state at module level: {held}"
