"""The recommender reads a clickstream from a Parquet folder in the tracking team's own names.

The committed sample (domains/recommender/examples/clickstream_parquet/) names things its own way:
customer_no, article_no, action click/basket/order, platform web/mobile_app, epoch milliseconds. The card
overlay maps it through inloop.sources; the recommender's own split, bestsellers, interaction matrix and
ALS then run on the mapped rows. A wrong mapping names the source, the column and the owner.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from inloop.cards import load_card
from inloop.sources import SourceError

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "domains" / "recommender" / "examples" / "clickstream_parquet"
CARD = REPO / "domains" / "recommender" / "project.yaml"


def _raw() -> pd.DataFrame:
    return pd.concat(
        [pd.read_parquet(p) for p in sorted((EXAMPLE / "events").glob("*.parquet"))], ignore_index=True
    )


def test_the_parquet_clickstream_maps_onto_the_recommenders_names_and_trains() -> None:
    from recommender.lib.collaborative import train_als
    from recommender.lib.history import HISTORY_INPUTS, HistoryStore, interaction_matrix, time_split
    from recommender.lib.popularity import fit_popularity
    from recommender.lib.shop import ShopSpec, generate_catalog
    from recommender.sources import read_shop_events

    events = read_shop_events(load_card(CARD, overlay=EXAMPLE / "card-overlay.yaml"))
    raw = _raw()
    frame = events.frame
    assert set(HISTORY_INPUTS) <= set(frame.columns) and len(frame) == len(raw) == 1_812
    assert events.unmapped == [] and set(events.ignored) == {"session_key"}
    # renamed and recoded, row for row (both sorted by time the same way)
    raw = raw.sort_values("occurred_at_ms", kind="stable").reset_index(drop=True)
    assert (frame["account_id"].to_numpy() == raw["customer_no"].to_numpy()).all()
    assert (frame["item_id"].to_numpy() == raw["article_no"].to_numpy()).all()
    assert frame["event_type"].astype(str).value_counts().to_dict() == {
        {"click": "view", "basket": "add_to_cart", "order": "purchase"}[k]: v
        for k, v in raw["action"].value_counts().to_dict().items()
    }
    assert (frame["ts"].astype("int64") // 10**6 == raw["occurred_at_ms"]).all()  # epoch ms -> UTC times
    assert set(frame["device"].astype(str)) == {"desktop", "app"}

    # The recommender's own pipeline pieces on the mapped log.
    split = time_split(frame, test_days=7)
    assert len(split.train) and len(split.test) and split.train["ts"].max() < split.cutoff
    catalog = generate_catalog(ShopSpec(seed=11, n_items=150, n_accounts=40, days=21))
    n_accounts = int(frame["account_id"].max()) + 1
    bestsellers = fit_popularity(split.train, len(catalog))
    assert bestsellers.scores.sum() > 0
    matrix = interaction_matrix(split.train, n_accounts, len(catalog))
    purchases = split.train[split.train["event_type"] == "purchase"]
    assert matrix.sum() == pytest.approx(
        (split.train["event_type"].astype(str).map({"view": 1, "add_to_cart": 3, "purchase": 5})).sum()
    )
    assert len(purchases) > 0
    model = train_als(split.train, catalog, n_accounts, factors=8, iterations=4)
    assert model.item_factors.shape == (len(catalog), 8) and np.isfinite(model.item_factors).all()
    history = HistoryStore(frame)
    assert set(history.accounts()) == set(frame["account_id"])


def _overlay(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    overlay = yaml.safe_load((EXAMPLE / "card-overlay.yaml").read_text())
    change(overlay["data_sources"][1])
    shutil.copytree(EXAMPLE / "events", tmp_path / "events")
    path = tmp_path / "card-overlay.yaml"
    path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    return path


def _seconds_not_ms(source: dict) -> None:
    source["mapping"]["event_time"]["unit"] = "epoch_seconds"


def _order_not_recoded(source: dict) -> None:
    del source["mapping"]["columns"]["event_type"]["recode"]["order"]


def _no_platform(source: dict) -> None:
    source["mapping"]["columns"]["device"]["from"] = "device_type"


@pytest.mark.parametrize(
    ("change", "column", "says"),
    [
        (_seconds_not_ms, "occurred_at_ms", "is the unit stated right?"),
        (_order_not_recoded, "event_type", "unknown category 'order'"),
        (_no_platform, "device", "the source has no column 'device_type'"),
    ],
)
def test_a_wrong_clickstream_mapping_names_source_column_and_owner(
    tmp_path: Path, change, column, says
) -> None:  # type: ignore[no-untyped-def]
    from recommender.sources import read_shop_events

    card = load_card(CARD, overlay=_overlay(tmp_path, change))
    with pytest.raises(SourceError) as caught:
        read_shop_events(card)
    message = str(caught.value)
    assert (
        "'shop_events'" in message
        and "Web Analytics (tracking)" in message
        and "web-analytics@shop.example" in message
    )
    assert column in message and says in message


def test_data_check_reports_the_clickstream_and_its_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    from inloop.cli import app
    from inloop.settings import reset_settings

    monkeypatch.setenv(
        "INLOOP_CARD_OVERLAYS", json.dumps({"recommender": str(EXAMPLE / "card-overlay.yaml")})
    )
    reset_settings()
    result = CliRunner().invoke(app, ["data", "check", "recommender", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (source,) = report["sources"]
    assert source["id"] == "shop_events" and source["usable"] and source["rows"] == 1_812
    months = pd.to_datetime(_raw()["occurred_at_ms"], unit="ms", utc=True).dt.strftime("%Y-%m").value_counts()
    assert source["rows_per_period"] == months.sort_index().to_dict()
    assert source["mapped"]["event_type"].startswith("action (recoded: click->view")
    assert set(report["not_checked"]) == {"catalog"}  # the shop's own catalog, read by the domain
