"""The prediction log's record cleaning: the fast path for flat records must equal the general path."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from inloop.predictions import _clean, _clean_record

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                    st.floats(allow_nan=True, allow_infinity=True))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=3), inner, max_size=3)),
                      max_leaves=8)
keys = st.one_of(st.text(max_size=5), st.integers())


@given(st.dictionaries(keys, values, max_size=6))
def test_fast_path_equals_general_cleaning(record: dict) -> None:
    assert _clean_record(record) == _clean(record)


def test_non_finite_and_numpy_values_are_made_json_safe() -> None:
    cleaned = _clean_record({"a": math.nan, "b": np.float64(1.5), "c": math.inf, "d": np.int64(3), 4: "x"})
    assert cleaned == {"a": None, "b": 1.5, "c": None, "d": 3, "4": "x"}
    assert type(cleaned["d"]) is int


def test_flat_record_is_copied_not_shared() -> None:
    record = {"income": 1200.0, "channel": "web"}
    cleaned = _clean_record(record)
    cleaned["income"] = 0.0
    assert record["income"] == 1200.0
