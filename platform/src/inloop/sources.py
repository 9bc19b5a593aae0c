"""Data sources as configuration: where a domain's rows come from, and how they map to its schema.

A project card's ``data_sources`` entry may say where its rows are (``read``: a CSV or Parquet file
or folder, local or on object storage (s3:// through boto3, other URLs through fsspec), or a SQL query against a SQLAlchemy URL; the
domain's synthetic generator is the default kind) and how the source's names, codes and units map
to the domain's columns (``mapping``). The domain declares what it expects (:class:`DomainSchema`);
:func:`read_source` reads the rows, applies the mapping and refuses a source whose mapping does not
fit — a missing column, an unknown category, a unit stated wrongly — with a :class:`SourceError`
naming the source, the column and the owner, so nothing is trained on it.

Every conversion is stated in the card, never guessed: a unit change is ``unit: from_milliseconds``,
a code is recoded by ``recode``, a number becomes a band by ``bands``. A domain column the source does
not have is declared ``absent`` with the reason, and a source column the domain does not use is
listed under ``ignore`` (or shows up as *unmapped* in ``inloop data check``): nothing vanishes silently.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from inloop.cards import DataSource

__all__ = [
    "UNIT_CONVERSIONS",
    "ColumnMapping",
    "ColumnSource",
    "DomainSchema",
    "EventTime",
    "MappedSource",
    "RowId",
    "SourceError",
    "SourceRead",
    "TargetColumn",
    "read_source",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)


#: Unit conversions a mapping may state: name -> (the dimension it converts, factor to the domain's unit).
#: The domain's unit is the one its schema names (seconds for durations, EUR for money).
UNIT_CONVERSIONS: dict[str, tuple[str, float]] = {
    "from_seconds": ("duration", 1.0),
    "from_milliseconds": ("duration", 0.001),
    "from_minutes": ("duration", 60.0),
    "from_hours": ("duration", 3600.0),
    "from_euro": ("money", 1.0),
    "from_cents": ("money", 0.01),
    # The fixed conversion rate of 31 December 1998 (Council Regulation (EC) No 2866/98).
    "from_deutsche_mark": ("money", 1 / 1.95583),
}
#: The dimension each domain unit belongs to (a conversion must convert into it).
UNIT_DIMENSIONS: dict[str, str] = {"seconds": "duration", "eur": "money"}
UnitName = Literal[
    "from_seconds",
    "from_milliseconds",
    "from_minutes",
    "from_hours",
    "from_euro",
    "from_cents",
    "from_deutsche_mark",
]


class SourceRead(_Strict):
    """Where a source's rows are: the domain's generator (default), files, or a SQL query."""

    kind: Literal["synthetic", "csv", "parquet", "sql"] = "synthetic"
    path: str | None = Field(
        default=None,
        description=(
            "csv/parquet: a file or a folder of files; relative to the card's folder, s3://bucket/prefix (boto3, "
            "credentials from the environment, never the card), or another URL fsspec reads."
        ),
    )
    url: str | None = Field(
        default=None, description="sql: a SQLAlchemy URL (no password: use the environment)."
    )
    query: str | None = Field(default=None, description="sql: the SELECT that returns the rows.")
    separator: str = Field(default=",", max_length=1, description="csv: the field separator.")
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Object-storage options: endpoint_url for an S3-compatible store (MinIO), or fsspec options for another "
            "URL; credentials come from the environment."
        ),
    )

    @model_validator(mode="after")
    def _complete(self) -> SourceRead:
        if self.kind in ("csv", "parquet") and not self.path:
            raise ValueError(f"a {self.kind} source needs a path (a file or a folder)")
        if self.kind == "sql" and not (self.url and self.query):
            raise ValueError("a sql source needs a url (SQLAlchemy) and a query")
        if self.kind != "sql" and (self.url or self.query):
            raise ValueError("url and query belong to a sql source")
        if self.kind in ("synthetic", "sql") and self.path:
            raise ValueError(f"path belongs to a csv or parquet source, not {self.kind}")
        if self.url:
            import sqlalchemy as sa

            try:
                url = sa.engine.make_url(self.url)
            except sa.exc.ArgumentError as exc:
                raise ValueError(f"not a SQLAlchemy URL: {exc}") from None
            if url.password:
                raise ValueError("the url holds a password: put credentials in the environment, not the card")
        return self

    def where(self) -> str:
        """Where the rows come from, in one line."""
        if self.kind == "sql":
            return f"sql: {self.url}"
        return f"{self.kind}: {self.path}" if self.path else "the domain's synthetic generator"


class ColumnSource(_Strict):
    """One domain column from one source column: renamed, recoded, converted or banded (stated, not guessed)."""

    from_: str = Field(alias="from", min_length=1, description="The source's column name.")
    recode: dict[str, str | int | float] | None = Field(
        default=None,
        description=("Source value -> domain value; a value not listed is an unknown category (an error)."),
    )
    unit: UnitName | None = Field(default=None, description="The source's unit, converted into the domain's.")
    bands: dict[str, tuple[float, float]] | None = Field(
        default=None,
        description=(
            "Domain category -> [low, high] (inclusive) of the source's number, e.g. age in years -> age band."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _keys_as_text(cls, data: Any) -> Any:
        # YAML reads `1: good` with an integer key; the source's values are compared as text.
        if isinstance(data, dict) and isinstance(data.get("recode"), dict):
            data = {**data, "recode": {str(k): v for k, v in data["recode"].items()}}
        return data

    @model_validator(mode="after")
    def _one_transform(self) -> ColumnSource:
        if sum(x is not None for x in (self.recode, self.unit, self.bands)) > 1:
            raise ValueError("use one of recode, unit or bands per column")
        for name, (low, high) in (self.bands or {}).items():
            if low > high:
                raise ValueError(f"band {name!r}: low {low} is above high {high}")
        return self

    def describe(self) -> str:
        """The transform in words (for ``inloop data check``)."""
        if self.recode is not None:
            return f"{self.from_} (recoded: {', '.join(f'{k}->{v}' for k, v in self.recode.items())})"
        if self.unit is not None:
            return f"{self.from_} ({self.unit})"
        if self.bands is not None:
            return f"{self.from_} (banded: {', '.join(self.bands)})"
        return self.from_


class Spread(_Strict):
    start: dt.date
    months: int = Field(ge=2, le=600)


class EventTime(_Strict):
    """When each row happened: a source column, or — when the source has none — said so, with what to do."""

    from_: str | None = Field(default=None, alias="from")
    unit: Literal["datetime", "epoch_seconds", "epoch_milliseconds"] = "datetime"
    absent: str | None = Field(default=None, min_length=3, description="Why the source has no event time.")
    spread: Spread | None = Field(
        default=None,
        description=(
            "With absent: stamp rows in file order over these months from start (a declared stand-in, not a "
            "date: time-based splits become splits by file order, and inloop data check says so)."
        ),
    )

    @model_validator(mode="after")
    def _one_way(self) -> EventTime:
        if (self.from_ is None) == (self.absent is None):
            raise ValueError("event_time needs either from (a column) or absent (why there is none)")
        if self.absent is not None and self.spread is None:
            raise ValueError("an absent event time needs spread (start, months): the pipeline splits by time")
        if self.from_ is not None and self.spread is not None:
            raise ValueError("spread is only for an absent event time")
        return self


class RowId(_Strict):
    """What a row is known by: a source column, or row numbers when the source has no id (said so)."""

    from_: str | None = Field(default=None, alias="from")
    absent: str | None = Field(
        default=None, min_length=3, description="Why there is no id (rows are numbered)."
    )

    @model_validator(mode="after")
    def _one_way(self) -> RowId:
        if (self.from_ is None) == (self.absent is None):
            raise ValueError("id needs either from (a column) or absent (why rows are numbered instead)")
        return self


class ColumnMapping(_Strict):
    """From the source's names and codes to the domain's schema."""

    columns: dict[str, ColumnSource] = Field(
        default_factory=dict, description="Domain column -> source column."
    )
    absent: dict[str, str] = Field(
        default_factory=dict,
        description=("Domain column -> why the source does not have it (the model is trained without it)."),
    )
    label: ColumnSource | None = None
    event_time: EventTime | None = None
    id: RowId | None = None
    slices: dict[str, ColumnSource] = Field(
        default_factory=dict,
        description=(
            "Source columns carried for per-slice evaluation only, never a model input (e.g. a protected group)."
        ),
    )
    ignore: dict[str, str] = Field(
        default_factory=dict, description="Source column -> why the domain does not use it."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ColumnMapping:
        both = sorted(set(self.columns) & set(self.absent))
        if both:
            raise ValueError(f"{both} are both mapped and declared absent")
        clash = sorted(set(self.slices) & (set(self.columns) | set(self.absent)))
        if clash:
            raise ValueError(
                f"slice column(s) {clash} collide with domain columns; give them their own names"
            )
        short = [k for k, why in self.absent.items() if len(why.strip()) < 3]
        if short:
            raise ValueError(f"say why {short} are absent")
        return self


# The domain's side --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetColumn:
    """One column the domain expects, with what makes a value valid."""

    name: str
    kind: Literal["number", "integer", "category", "text"]
    values: tuple[Any, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    unit: str | None = None  # "seconds", "eur" (a unit conversion must convert into it)


@dataclass(frozen=True)
class DomainSchema:
    """What a domain's rows must look like after the mapping, and what its gates need.

    ``synthetic`` gives each source id the domain can generate itself (the default kind);
    ``slices`` and ``min_per_class`` are what the slice gate judges (each slice value needs that many
    rows of each label class in the holdout); the holdout is the last ``holdout_months`` by event time,
    or else the last ``holdout_share`` of the rows.
    """

    domain: str
    columns: tuple[TargetColumn, ...]
    id_column: str | None = None
    event_time: str | None = None
    label: str | None = None
    slices: tuple[str, ...] = ()
    min_per_class: int = 15
    holdout_share: float = 0.25
    holdout_months: int | None = None
    synthetic: Mapping[str, Callable[[], pd.DataFrame]] = field(default_factory=dict)

    def column(self, name: str) -> TargetColumn | None:
        return next((c for c in self.columns if c.name == name), None)


# Reading ------------------------------------------------------------------------------------------


class SourceError(ValueError):
    """A source that cannot be read or mapped; the message names the source, the columns and the owner."""

    def __init__(self, source: DataSource, problems: list[str]) -> None:
        self.source_id = source.id
        self.owner = source.owner
        self.contact = source.contact
        self.problems = problems
        who = f"owner: {source.owner or 'unknown'}" + (f", {source.contact}" if source.contact else "")
        super().__init__(
            f"data source {source.id!r} ({who}) cannot be used; nothing is trained on it:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass
class MappedSource:
    """A source's rows in the domain's names and units, and what the mapping did to get there."""

    source_id: str
    where: str
    frame: pd.DataFrame
    mapped: dict[str, str] = field(default_factory=dict)  # domain column -> transform in words
    absent: dict[str, str] = field(default_factory=dict)
    slices: tuple[str, ...] = ()
    unmapped: list[str] = field(default_factory=list)  # source columns neither mapped, sliced nor ignored
    ignored: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.frame)


def _files(path: str, suffix: str, storage_options: Mapping[str, str]) -> tuple[Any, list[str]]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(path, **storage_options)
    if fs.isdir(root):
        files = sorted(f for f in fs.find(root) if f.endswith(suffix))
        if not files:
            raise FileNotFoundError(f"no *{suffix} file in the folder {path}")
        return fs, files
    if not fs.exists(root):
        raise FileNotFoundError(f"{path} does not exist")
    return fs, [root]


def _s3_objects(path: str, suffix: str, storage_options: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """The files under an ``s3://bucket/prefix`` (or the one file it names), through boto3 (locked; s3fs is not).

    Credentials come from the environment (AWS_ACCESS_KEY_ID, ...); ``endpoint_url`` (MinIO, SeaweedFS) from the
    source's ``storage_options`` or the platform's ``INLOOP_MLFLOW_S3_ENDPOINT_URL``.
    """
    import boto3

    from inloop.settings import get_settings

    bucket, _, prefix = path.removeprefix("s3://").partition("/")
    endpoint = storage_options.get("endpoint_url") or get_settings().mlflow_s3_endpoint_url
    s3 = boto3.client("s3", endpoint_url=endpoint)
    if prefix.endswith(suffix):
        keys = [prefix]
    else:
        folder = prefix.rstrip("/") + "/" if prefix else ""
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder)
        keys = sorted(
            o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(suffix)
        )
        if not keys:
            raise FileNotFoundError(f"no *{suffix} object under {path}")
    return [(key, s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys]


def _read_raw(read: SourceRead) -> pd.DataFrame:
    if read.kind == "sql":
        import sqlalchemy as sa

        engine = sa.create_engine(read.url or "")
        try:
            with engine.connect() as connection:
                return pd.read_sql_query(sa.text(read.query or ""), connection)
        finally:
            engine.dispose()
    suffix = ".csv" if read.kind == "csv" else ".parquet"

    def parse(handle: Any) -> pd.DataFrame:
        return pd.read_csv(handle, sep=read.separator) if read.kind == "csv" else pd.read_parquet(handle)

    frames = []
    if (read.path or "").startswith("s3://"):
        frames = [
            parse(io.BytesIO(body)) for _, body in _s3_objects(read.path or "", suffix, read.storage_options)
        ]
    else:
        fs, files = _files(read.path or "", suffix, read.storage_options)
        for name in files:
            with fs.open(name, "rb") as handle:
                frames.append(parse(handle))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _shown(values: Any, limit: int = 6) -> str:
    values = [v.item() if hasattr(v, "item") else v for v in values]  # numpy scalars as plain numbers
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def _map_column(
    name: str, spec: ColumnSource, raw: pd.DataFrame, target: TargetColumn | None, problems: list[str]
) -> pd.Series | None:
    """One domain column from the source, or None (with the problem recorded)."""
    where = f"column {name!r} (from source column {spec.from_!r})"
    if spec.from_ not in raw.columns:
        problems.append(f"{where}: the source has no column {spec.from_!r}; it has {_shown(raw.columns, 30)}")
        return None
    values = raw[spec.from_]
    present = values.notna()
    if spec.recode is not None:
        text = values.astype(str).where(present)
        unknown = sorted(set(text[present]) - set(spec.recode))
        if unknown:
            problems.append(
                f"{where}: unknown categor{'y' if len(unknown) == 1 else 'ies'} {_shown(unknown)} "
                f"({int(text.isin(unknown).sum())} rows) not in its recode; the recode knows "
                f"{_shown(spec.recode)}"
            )
            return None
        values = text.map(spec.recode)
    if spec.bands is not None:
        numbers = pd.to_numeric(values, errors="coerce")
        banded = pd.Series(pd.NA, index=values.index, dtype=object)
        for band, (low, high) in spec.bands.items():
            banded[(numbers >= low) & (numbers <= high)] = band
        outside = present & banded.isna()
        if outside.any():
            problems.append(
                f"{where}: {int(outside.sum())} value(s) in no band, e.g. {_shown(values[outside].unique())}"
            )
            return None
        values = banded
    if target is None:  # a slice column: carried as text
        return values.astype(object).where(values.notna(), None)
    if target.kind in ("number", "integer"):
        numbers = pd.to_numeric(values, errors="coerce")
        not_numbers = present & numbers.isna()
        if not_numbers.any():
            problems.append(
                f"{where}: {int(not_numbers.sum())} value(s) are not numbers, e.g. "
                f"{_shown(values[not_numbers].unique())}"
            )
            return None
        if spec.unit is not None:
            dimension, factor = UNIT_CONVERSIONS[spec.unit]
            wanted = UNIT_DIMENSIONS.get(target.unit or "")
            if wanted != dimension:
                problems.append(
                    f"{where}: unit {spec.unit} converts {dimension}, but {name} is "
                    f"{target.unit or 'a plain number'}; state the source's unit in {wanted or 'it'}"
                )
                return None
            numbers = numbers * factor
        low = -math.inf if target.min_value is None else target.min_value
        high = math.inf if target.max_value is None else target.max_value
        known = numbers.dropna()
        outside = (known < low) | (known > high)
        # Most values out of range is a unit or a column mix-up, not dirty rows: refuse the mapping.
        # A few are left to the schema expectations, which report them to the owner row by row.
        if len(known) and outside.mean() > 0.5:
            stated = f"after {spec.unit}" if spec.unit else "with no unit conversion stated"
            problems.append(
                f"{where}: {outside.mean():.0%} of values lie outside {low:g}..{high:g} "
                f"{target.unit or ''} {stated} (median {known.median():g}); is the unit stated right?"
            )
            return None
        fractional = known[known % 1 != 0] if target.kind == "integer" else known.iloc[:0]
        if len(fractional):
            problems.append(
                f"{where}: {len(fractional)} value(s) are not whole numbers, e.g. {_shown(fractional.unique(), 3)}"
            )
            return None
        return numbers.astype(float)
    if target.kind == "category":
        text = values.astype(str).where(values.notna())
        unknown = sorted(set(text.dropna()) - {str(v) for v in target.values})
        if unknown:
            problems.append(
                f"{where}: unknown categor{'y' if len(unknown) == 1 else 'ies'} {_shown(unknown)} "
                f"({int(text.isin(unknown).sum())} rows); {name} has {_shown(target.values, 20)} "
                "(add a recode)"
            )
            return None
        return pd.Categorical(text, categories=list(target.values))  # type: ignore[return-value]
    return values.astype(str).where(values.notna(), None)


def _event_times(
    spec: EventTime, raw: pd.DataFrame, problems: list[str], notes: list[str]
) -> pd.Series | None:
    if spec.from_ is None:
        assert spec.spread is not None and spec.absent is not None
        start = pd.Timestamp(spec.spread.start, tz="UTC")
        month = (pd.RangeIndex(len(raw)) * spec.spread.months) // max(len(raw), 1)
        stamps = pd.Series([start + pd.DateOffset(months=int(m)) for m in month], index=raw.index)
        notes.append(
            f"no event time: {spec.absent}; rows stamped in file order over {spec.spread.months} months "
            f"from {spec.spread.start}: time splits and drift periods follow file order, not the calendar"
        )
        return pd.to_datetime(stamps, utc=True)
    if spec.from_ not in raw.columns:
        problems.append(
            f"event time: the source has no column {spec.from_!r}; it has {_shown(raw.columns, 30)}"
        )
        return None
    values = raw[spec.from_]
    if spec.unit == "datetime":
        times = pd.to_datetime(values, errors="coerce", utc=True)
    else:
        numbers = pd.to_numeric(values, errors="coerce")
        times = pd.to_datetime(
            numbers, unit="ms" if spec.unit == "epoch_milliseconds" else "s", errors="coerce", utc=True
        )
    bad = values.notna() & times.isna()
    if bad.any():
        numeric = spec.unit != "datetime" and pd.to_numeric(values[bad], errors="coerce").notna().all()
        hint = "; they are numbers out of range for it: is the unit stated right?" if numeric else ""
        problems.append(
            f"event time {spec.from_!r}: {int(bad.sum())} value(s) are not {spec.unit}, e.g. "
            f"{_shown(values[bad].unique(), 3)}{hint}"
        )
        return None
    if len(times) and (times.dt.year.min() < 1950 or times.dt.year.max() > dt.date.today().year + 1):
        problems.append(
            f"event time {spec.from_!r}: times run from {times.min()} to {times.max()} as "
            f"{spec.unit}; is the unit stated right?"
        )
        return None
    return times


def _label(spec: ColumnSource, raw: pd.DataFrame, name: str, problems: list[str]) -> pd.Series | None:
    series = _map_column(name, spec, raw, TargetColumn(name, "integer", min_value=0, max_value=1), problems)
    if series is None:
        return None
    odd = sorted(set(series.dropna().unique()) - {0.0, 1.0})
    if odd:
        problems.append(
            f"label {name!r} (from {spec.from_!r}): values {_shown(odd)} are not 0/1 (add a recode)"
        )
        return None
    if series.isna().any():
        problems.append(
            f"label {name!r} (from {spec.from_!r}): {int(series.isna().sum())} row(s) have no label"
        )
        return None
    return series.astype(int)


def read_source(
    source: DataSource, schema: DomainSchema, *, synthetic: Callable[[], pd.DataFrame] | None = None
) -> MappedSource:
    """Read ``source`` as its card entry says and map it onto ``schema``; raise :class:`SourceError` if it
    cannot be used (unreadable, a missing column, an unknown category, a unit stated wrongly).

    A synthetic source returns the domain's generator's rows unchanged (``synthetic`` overrides the
    schema's generator, e.g. with a size and seed from the run config).
    """
    read = source.read
    if read.kind == "synthetic":
        generate = synthetic or schema.synthetic.get(source.id)
        if generate is None:
            raise SourceError(
                source,
                [
                    f"{schema.domain} has no synthetic generator for {source.id!r}; "
                    "give the source a read: (csv, parquet or sql) with a mapping"
                ],
            )
        frame = generate()
        return MappedSource(source.id, read.where(), frame, mapped={c: "(generated)" for c in frame.columns})
    try:
        raw = _read_raw(read)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the source's, named with it
        raise SourceError(source, [f"cannot read {read.where()}: {type(exc).__name__}: {exc}"]) from exc
    return apply_mapping(source, raw, schema)


def apply_mapping(source: DataSource, raw: pd.DataFrame, schema: DomainSchema) -> MappedSource:
    """Map ``raw`` rows (in the source's names) onto ``schema`` as the source's card entry says."""
    mapping = source.mapping or ColumnMapping(
        columns={c.name: ColumnSource(**{"from": c.name}) for c in schema.columns if c.name in raw.columns},
        label=ColumnSource(**{"from": schema.label})
        if schema.label and schema.label in raw.columns
        else None,
        event_time=(
            EventTime(**{"from": schema.event_time})
            if schema.event_time and schema.event_time in raw.columns
            else None
        ),
        id=RowId(**{"from": schema.id_column})
        if schema.id_column and schema.id_column in raw.columns
        else None,
    )
    problems: list[str] = []
    notes: list[str] = []
    out = pd.DataFrame(index=raw.index)
    if raw.empty:
        problems.append(f"{source.read.where()} holds no rows")
    unknown_targets = sorted((set(mapping.columns) | set(mapping.absent)) - {c.name for c in schema.columns})
    if unknown_targets:
        problems.append(
            f"mapping names column(s) {unknown_targets} that {schema.domain} does not have; its columns "
            f"are {_shown([c.name for c in schema.columns], 30)}"
        )
    if schema.id_column:
        if mapping.id is None:
            problems.append(
                f"id: say which column is {schema.id_column!r} (id: {{from: ...}}) or why there is none "
                "(id: {absent: ...})"
            )
        elif mapping.id.from_ is None:
            out[schema.id_column] = [f"{source.id}-{i + 1:06d}" for i in range(len(raw))]
            notes.append(f"no row id: {mapping.id.absent} (ids {source.id}-000001...)")
        elif mapping.id.from_ not in raw.columns:
            problems.append(f"id: the source has no column {mapping.id.from_!r}")
        else:
            out[schema.id_column] = raw[mapping.id.from_].astype(str)
    if schema.event_time:
        if mapping.event_time is None:
            problems.append(f"event_time: say which column is {schema.event_time!r} or why there is none")
        else:
            times = _event_times(mapping.event_time, raw, problems, notes)
            if times is not None:
                out[schema.event_time] = times
    mapped: dict[str, str] = {}
    for target in schema.columns:
        if target.name in (schema.id_column, schema.event_time):
            continue
        spec = mapping.columns.get(target.name)
        if spec is None:
            if target.name in mapping.absent:
                out[target.name] = (
                    pd.Categorical([None] * len(raw), categories=list(target.values))
                    if target.kind == "category"
                    else float("nan")
                )
            else:
                problems.append(
                    f"column {target.name!r}: not mapped and not declared absent (map it with "
                    f"columns: {{{target.name}: {{from: ...}}}} or say why under absent)"
                )
            continue
        series = _map_column(target.name, spec, raw, target, problems)
        if series is not None:
            out[target.name] = series
            mapped[target.name] = spec.describe()
    for name, spec in mapping.slices.items():
        series = _map_column(name, spec, raw, None, problems)
        if series is not None:
            out[name] = series
            mapped[name] = spec.describe() + " [slice only]"
    if schema.label:
        if mapping.label is None:
            problems.append(
                f"label: say which source column is {schema.label!r} (label: {{from: ..., recode: ...}})"
            )
        else:
            labels = _label(mapping.label, raw, schema.label, problems)
            if labels is not None:
                out[schema.label] = labels
                mapped[schema.label] = mapping.label.describe()
    ignored_missing = sorted(set(mapping.ignore) - set(raw.columns))
    if ignored_missing:
        problems.append(f"ignore names column(s) {ignored_missing} the source does not have")
    if problems:
        raise SourceError(source, problems)
    used = {s.from_ for s in (*mapping.columns.values(), *mapping.slices.values())}
    used |= {x.from_ for x in (mapping.label, mapping.event_time, mapping.id) if x is not None and x.from_}
    unmapped = [c for c in raw.columns if c not in used and c not in mapping.ignore]
    return MappedSource(
        source.id,
        source.read.where(),
        out.reset_index(drop=True),
        mapped=mapped,
        absent=dict(mapping.absent),
        slices=tuple(mapping.slices),
        unmapped=unmapped,
        ignored=dict(mapping.ignore),
        notes=notes,
    )
