"""The scrubbers under ``inloop forget``: only the subject's rows and records go; everything else stays as it was."""

from __future__ import annotations

import dataclasses
import pickle
import re
from pathlib import Path

import pandas as pd
import pytest

from inloop.privacy.stores import scrub_object, scrub_parquet_tree, scrub_pickle_files, scrub_text_tree


@dataclasses.dataclass(frozen=True)
class Visit:
    account_id: int
    page: str


@dataclasses.dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    visits: list
    by_page: dict


def is_two(value: object) -> bool:
    return str(value) == "2"


@pytest.mark.rubric("data-5")
def test_objects_lose_the_subjects_rows_and_records_only() -> None:
    frame = pd.DataFrame({"account_id": [1, 2, 3, 2], "v": [10, 20, 30, 40]})
    split = Split(frame, [Visit(2, "men"), Visit(3, "women")], {"men": Visit(2, "men"), "all": [Visit(1, "home")]})

    found, hits = scrub_object(split, ("account_id",), is_two, erase=False)
    assert found is split and hits == 4
    clean, hits = scrub_object(split, ("account_id",), is_two, erase=True)
    assert hits == 4
    assert clean.train.to_dict("list") == {"account_id": [1, 3], "v": [10, 30]}
    assert clean.train.index.tolist() == [0, 1]  # a plain index stays plain
    assert clean.visits == [Visit(3, "women")] and clean.by_page == {"all": [Visit(1, "home")]}
    assert len(split.train) == 4 and len(split.visits) == 2  # the original is untouched
    assert scrub_object(clean, ("account_id",), is_two, erase=False)[1] == 0


@pytest.mark.rubric("data-5")
def test_files_are_rewritten_only_where_the_subject_is(tmp_path: Path) -> None:
    pd.DataFrame({"account_id": [1, 2], "v": [1.5, 2.5]}).to_parquet(tmp_path / "a.parquet", index=False)
    pd.DataFrame({"account_id": [3], "v": [3.5]}).to_parquet(tmp_path / "b.parquet", index=False)
    (tmp_path / "rows.csv").write_text("account_id,v\n1,x\naccount 2,y\n")
    (tmp_path / "note.md").write_text("Customer account 2 complained; account 20 did not.\n")
    (tmp_path / "out.pkl").write_bytes(pickle.dumps(Split(pd.DataFrame({"account_id": [2, 3]}), [], {})))
    untouched = {p: p.read_bytes() for p in (tmp_path / "b.parquet",)}
    patterns = [re.compile(r"\baccount\s*2\b")]

    assert scrub_parquet_tree(tmp_path, ("account_id",), is_two, erase=True) == (1, 1)
    assert scrub_text_tree(tmp_path, patterns, erase=True) == (2, 2)
    assert scrub_pickle_files([tmp_path / "out.pkl"], ("account_id",), is_two, erase=True) == (1, 1)

    assert pd.read_parquet(tmp_path / "a.parquet").to_dict("list") == {"account_id": [1], "v": [1.5]}
    assert all(p.read_bytes() == data for p, data in untouched.items())
    assert (tmp_path / "rows.csv").read_text() == "account_id,v\n1,x\n"
    assert (tmp_path / "note.md").read_text() == "Customer [erased subject] complained; account 20 did not.\n"
    assert pickle.loads((tmp_path / "out.pkl").read_bytes()).train["account_id"].tolist() == [3]
    assert scrub_parquet_tree(tmp_path, ("account_id",), is_two, erase=False) == (0, 0)
    assert scrub_text_tree(tmp_path, patterns, erase=False) == (0, 0)
    assert not list(tmp_path.glob(".erasing-*"))  # no temporary file left behind
