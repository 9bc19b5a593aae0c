"""inloop.sources: a card's data source read from files, object storage or SQL, and mapped onto a domain's schema.

Real readers throughout: CSV and Parquet files on disk, fsspec's in-memory filesystem standing in for an
object store (the same fsspec code path an s3:// URL takes), and a real SQLite database through SQLAlchemy.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import fsspec
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from inloop.cards import CardError, DataSource, load_card
from inloop.sources import DomainSchema, SourceError, TargetColumn, read_source

REPO = Path(__file__).resolve().parents[2]
CREDIT_CARD = REPO / "domains" / "credit" / "project.yaml"
GERMAN = REPO / "domains" / "credit" / "examples" / "german_credit" / "card-overlay.yaml"

#: A small domain: a trip with a duration in seconds, a fare in EUR, a kind, and whether it was late.
TRIPS = DomainSchema(
    domain="trips",
    columns=(
        TargetColumn("duration_seconds", "number", min_value=1, max_value=36_000, unit="seconds"),
        TargetColumn("fare_eur", "number", min_value=0.5, max_value=500, unit="eur"),
        TargetColumn("kind", "category", values=("bus", "tram")),
        TargetColumn("rider_band", "category", values=("young", "adult")),
    ),
    id_column="trip_id",
    event_time="started_at",
    label="late",
)
ROWS = pd.DataFrame(
    {
        "TripNo": ["t1", "t2", "t3", "t4"],
        "Start": [
            "2026-01-03T08:00:00Z",
            "2026-01-20T09:30:00Z",
            "2026-02-02T07:15:00Z",
            "2026-02-05T18:00:00Z",
        ],
        "DurMs": [600_000, 1_200_000, 450_000, 3_000_000],
        "FareCents": [250, 320, 180, 900],
        "Mode": ["B", "T", "B", "T"],
        "Age": [19, 44, 30, 67],
        "Delayed": ["Y", "N", "N", "Y"],
        "Weather": ["rain", "sun", "sun", "snow"],
    }
)


def _mapping() -> dict:
    return {
        "id": {"from": "TripNo"},
        "event_time": {"from": "Start"},
        "label": {"from": "Delayed", "recode": {"Y": 1, "N": 0}},
        "columns": {
            "duration_seconds": {"from": "DurMs", "unit": "from_milliseconds"},
            "fare_eur": {"from": "FareCents", "unit": "from_cents"},
            "kind": {"from": "Mode", "recode": {"B": "bus", "T": "tram"}},
            "rider_band": {"from": "Age", "bands": {"young": [0, 25], "adult": [26, 120]}},
        },
    }


def _source(read: dict, mapping: dict | None = None) -> DataSource:
    return DataSource.model_validate(
        {
            "id": "trip_log",
            "description": "the trip log",
            "owner": "Fleet data team",
            "contact": "fleet@example.org",
            "read": read,
            "mapping": mapping or _mapping(),
        }
    )


def _expect_mapped(frame: pd.DataFrame) -> None:
    assert list(frame["trip_id"]) == ["t1", "t2", "t3", "t4"]
    assert list(frame["duration_seconds"]) == [600.0, 1200.0, 450.0, 3000.0]
    assert list(frame["fare_eur"]) == pytest.approx([2.5, 3.2, 1.8, 9.0])
    assert list(frame["kind"].astype(str)) == ["bus", "tram", "bus", "tram"]
    assert list(frame["rider_band"].astype(str)) == ["young", "adult", "adult", "adult"]
    assert list(frame["late"]) == [1, 0, 0, 1]
    assert str(frame["started_at"].dt.tz) == "UTC" and frame["started_at"].dt.month.tolist() == [1, 1, 2, 2]


def test_a_csv_folder_is_read_and_renamed_recoded_converted_and_banded(tmp_path: Path) -> None:
    folder = tmp_path / "trips"
    folder.mkdir()
    ROWS.iloc[:2].to_csv(folder / "2026-01.csv", index=False)
    ROWS.iloc[2:].to_csv(folder / "2026-02.csv", index=False)
    mapped = read_source(_source({"kind": "csv", "path": str(folder)}), TRIPS)
    _expect_mapped(mapped.frame)
    assert mapped.unmapped == ["Weather"]  # nothing vanishes silently: data check lists it
    assert mapped.mapped["duration_seconds"] == "DurMs (from_milliseconds)"


def test_a_parquet_folder_on_object_storage_is_read_through_fsspec() -> None:
    root = f"memory://bucket-{uuid.uuid4().hex}/trips"
    fs = fsspec.filesystem("memory")
    for name, part in (("a.parquet", ROWS.iloc[:3]), ("b.parquet", ROWS.iloc[3:])):
        with fs.open(f"{root}/{name}", "wb") as handle:
            part.to_parquet(handle, index=False)
    _expect_mapped(read_source(_source({"kind": "parquet", "path": root}), TRIPS).frame)


def test_a_sql_query_is_read_through_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = sa.create_engine(url)
    ROWS.to_sql("trips", engine, index=False)
    engine.dispose()
    source = _source({"kind": "sql", "url": url, "query": "SELECT * FROM trips ORDER BY TripNo"})
    _expect_mapped(read_source(source, TRIPS).frame)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            lambda m: m["columns"]["duration_seconds"].update({"from": "Duration"}),
            "the source has no column 'Duration'",
        ),
        (lambda m: m["label"]["recode"].pop("N"), "unknown category 'N'"),
        (lambda m: m["columns"]["kind"].pop("recode"), "unknown categories 'B', 'T'"),
        (
            lambda m: m["columns"]["duration_seconds"].update({"unit": "from_seconds"}),
            "is the unit stated right?",
        ),
        (lambda m: m["columns"]["duration_seconds"].pop("unit"), "with no unit conversion stated"),
        (lambda m: m["columns"]["fare_eur"].update({"unit": "from_milliseconds"}), "converts duration"),
        (
            lambda m: m["columns"].pop("duration_seconds"),
            "'duration_seconds': not mapped and not declared absent",
        ),
    ],
)
def test_a_wrong_mapping_names_source_column_and_owner(tmp_path: Path, change, says: str) -> None:  # type: ignore[no-untyped-def]
    ROWS.to_csv(tmp_path / "trips.csv", index=False)
    mapping = _mapping()
    change(mapping)
    with pytest.raises(SourceError) as caught:
        read_source(_source({"kind": "csv", "path": str(tmp_path / "trips.csv")}, mapping), TRIPS)
    message = str(caught.value)
    assert "'trip_log'" in message and "Fleet data team" in message and "fleet@example.org" in message
    assert says in message


@pytest.mark.parametrize(
    ("read", "says"),
    [
        ({"kind": "csv"}, "needs a path"),
        ({"kind": "sql", "url": "sqlite:///x.db"}, "needs a url (SQLAlchemy) and a query"),
        (
            {"kind": "sql", "url": "postgresql://loans:s3cret@db/warehouse", "query": "SELECT 1"},
            "holds a password",
        ),
        ({"kind": "excel", "path": "x.xlsx"}, "read.kind"),
    ],
)
def test_the_card_refuses_an_incomplete_or_unsafe_source(tmp_path: Path, read: dict, says: str) -> None:
    card = yaml.safe_load(CREDIT_CARD.read_text())
    card["data_sources"][0]["read"] = read
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    with pytest.raises(CardError) as caught:
        load_card(path)
    assert says in str(caught.value) and "data_sources[0]" in str(caught.value)


def test_an_overlay_replaces_the_cards_sources_and_its_paths_are_its_own() -> None:
    base, overlaid = load_card(CREDIT_CARD), load_card(CREDIT_CARD, overlay=GERMAN)
    assert base.source("loan_history").read.kind == "synthetic"
    read = overlaid.source("loan_history").read
    assert read.kind == "csv" and Path(read.path or "") == GERMAN.parent / "germancredit.csv"
    assert overlaid.concerns == base.concerns  # everything else stays the card's


def test_an_overlay_for_another_domain_is_refused(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("domain: recommender\ndata_sources: []\n")
    with pytest.raises(CardError, match="the overlay is for 'recommender'"):
        load_card(CREDIT_CARD, overlay=overlay)


def test_data_check_says_what_credit_will_see_on_the_german_data(monkeypatch: pytest.MonkeyPatch) -> None:
    from inloop.cli import app
    from inloop.settings import reset_settings

    monkeypatch.setenv("INLOOP_CARD_OVERLAYS", json.dumps({"credit": str(GERMAN)}))
    reset_settings()
    text = CliRunner().invoke(app, ["data", "check", "credit"])
    assert text.exit_code == 3, text.output  # usable, but some slices cannot be judged
    assert "CANNOT BE JUDGED" in text.output and "foreign_worker=no" in text.output
    result = CliRunner().invoke(app, ["data", "check", "credit", "--json"])
    assert result.exit_code == 3
    (source,) = json.loads(result.output)["sources"]
    assert source["rows"] == 1_000 and source["usable"] and source["unmapped"] == []
    assert set(source["absent"]) == {
        "income_monthly_eur",
        "channel",
        "residence_permit",
        "application_duration_seconds",
    }
    assert source["label_balance"] == {
        "label": "default_12m",
        "positives": 300,
        "negatives": 700,
        "positive_share": 0.3,
    }
    assert sum(source["rows_per_period"].values()) == 1_000 and len(source["rows_per_period"]) == 10
    foreign = {s["value"]: s for s in source["slices"] if s["column"] == "foreign_worker"}
    assert foreign["no"]["rows"] == 37 and not foreign["no"]["judgeable"] and foreign["yes"]["judgeable"]
    assert "foreign_worker=no" in source["cannot_judge"]


def test_data_check_exit_codes_for_a_broken_source_and_an_unknown_domain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inloop.cli import app
    from inloop.settings import reset_settings

    overlay = yaml.safe_load(GERMAN.read_text())
    overlay["data_sources"][0]["read"]["path"] = str(GERMAN.parent / "germancredit.csv")
    overlay["data_sources"][0]["mapping"]["columns"]["loan_amount_eur"]["unit"] = "from_cents"
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
    monkeypatch.setenv("INLOOP_CARD_OVERLAYS", json.dumps({"credit": str(tmp_path / "overlay.yaml")}))
    reset_settings()
    broken = CliRunner().invoke(app, ["data", "check", "credit"])
    assert broken.exit_code == 1, broken.output
    assert "CANNOT BE USED" in broken.output and "loan_amount_eur" in broken.output
    assert "Credit Risk data steward" in broken.output
    unknown = CliRunner().invoke(app, ["data", "check", "no_such_domain"])
    assert unknown.exit_code == 2


def test_a_source_already_in_the_domains_names_needs_no_mapping(tmp_path: Path) -> None:
    from credit.lib.data import generate_applications
    from credit.lib.loan_book import loan_history_schema

    history = generate_applications(300)
    history.to_csv(tmp_path / "history.csv", index=False)
    source = DataSource.model_validate(
        {
            "id": "loan_history",
            "description": "an export in credit's names",
            "owner": "o",
            "contact": "c",
            "read": {"kind": "csv", "path": str(tmp_path / "history.csv")},
        }
    )
    mapped = read_source(source, loan_history_schema())
    assert mapped.unmapped == [] and list(mapped.frame.columns) == list(history.columns)
    pd.testing.assert_series_equal(mapped.frame["income_monthly_eur"], history["income_monthly_eur"])
    assert (mapped.frame["applied_at"] == history["applied_at"]).all()
    history.drop(columns=["channel"]).to_csv(tmp_path / "history.csv", index=False)
    with pytest.raises(SourceError, match="'channel': not mapped and not declared absent"):
        read_source(source, loan_history_schema())


def test_a_whole_number_column_refuses_fractions(tmp_path: Path) -> None:
    schema = DomainSchema(domain="loans", columns=(TargetColumn("term_months", "integer", min_value=1),))
    pd.DataFrame({"Term": [12, 24, 2.5]}).to_csv(tmp_path / "loans.csv", index=False)
    source = DataSource.model_validate(
        {
            "id": "loan_book",
            "description": "loans",
            "owner": "Loans team",
            "contact": "loans@example.org",
            "read": {"kind": "csv", "path": str(tmp_path / "loans.csv")},
            "mapping": {"columns": {"term_months": {"from": "Term"}}},
        }
    )
    with pytest.raises(
        SourceError, match=r"'term_months' \(from source column 'Term'\): 1 value\(s\) are not whole"
    ):
        read_source(source, schema)
