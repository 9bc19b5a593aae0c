"""Input types whose OpenAPI schema states every rule the server enforces (nothing more, nothing less).

A client (or schemathesis) holding a request to the schema gets exactly the server's verdict:

* :data:`Timestamp` — an RFC 3339 string with a time zone, dated 2000-01-01 to 2099-12-31 (as
  written). No numbers (``0``, ``1e11``), no digit strings (``"0"``), no year 1.
* :data:`WholeNumber` — a JSON integer; ``67.0`` is the integer 67 (JSON Schema says so), while
  ``"67"``, ``true`` and ``67.5`` are refused.
* :func:`not_blank` with :data:`STRIPPED` — text whose minimum length holds *after* surrounding
  whitespace is stripped, stated as a pattern (at least ``n`` characters from the first non-blank
  to the last one); the maximum is measured as sent, and the value is stripped after the checks.
* :class:`RequestBody` — a JSON body that refuses unknown fields; very many of them are one error
  (naming the first few and the count), not one error each: 100,000 unknown keys must not cost
  seconds of building errors on the event loop.
* :func:`installed_domain` — a domain name whose schema enum is the installed domains, filled in
  when the app is built (:func:`document`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from inloop.api.errors import MAX_LISTED_ERRORS

__all__ = [
    "STRIPPED",
    "TIMESTAMP_PATTERN",
    "RequestBody",
    "Timestamp",
    "WholeNumber",
    "document",
    "installed_domain",
    "not_blank",
]

#: Python's whitespace (what ``str.strip()`` removes), as a regex class both Python, Rust
#: (pydantic) and ECMA-262 (JSON Schema) read the same way.
_BLANK = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"

#: RFC 3339 with a time zone, years 2000-2099 as written; seconds 00-59, up to 6 decimals.
TIMESTAMP_PATTERN = (
    r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
_TIMESTAMP_RULE = (
    "an RFC 3339 date-time with a time zone, dated 2000-01-01 to 2099-12-31, e.g. 2026-05-01T12:00:00Z"
)


def _timestamp(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError(f"give {_TIMESTAMP_RULE}, as a string (got {type(value).__name__} {value!r})")
    if not _TIMESTAMP.fullmatch(value):
        zone = "" if re.search(r"(Z|[+-][0-9]{2}:[0-9]{2})$", value) else " (this one has no time zone)"
        raise ValueError(f"give {_TIMESTAMP_RULE}{zone}")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date-time") from None


Timestamp = Annotated[
    dt.datetime,
    BeforeValidator(_timestamp),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": TIMESTAMP_PATTERN,
            "description": f"When: {_TIMESTAMP_RULE}.",
        }
    ),
]


def _whole(value: Any) -> Any:
    # JSON Schema calls 67.0 an integer; Python's json reads it as a float.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole), Field(strict=True)]


def not_blank(min_chars: int = 1) -> str:
    """A pattern: at least ``min_chars`` characters from the first non-blank to the last one."""
    mark = f"[^{_BLANK}]"
    return mark if min_chars <= 1 else f"{mark}[\\s\\S]{{{min_chars - 2},}}{mark}"


#: Strip surrounding whitespace after the checks (which :func:`not_blank` made hold after stripping).
STRIPPED = AfterValidator(str.strip)


class RequestBody(BaseModel):
    """Base of the API's JSON bodies: unknown fields are refused (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _not_a_flood_of_unknown_fields(cls, data: Any) -> Any:
        # Below this, pydantic names each unknown field itself (one error each, all listed).
        fields = cls.model_fields
        if isinstance(data, dict) and len(data) > len(fields) + MAX_LISTED_ERRORS:
            unknown = [key for key in data if key not in fields]
            raise PydanticCustomError(
                "extra_forbidden",
                "{count} unknown fields, e.g. {first}; this body takes only: {known}",
                {
                    "count": len(unknown),
                    "first": ", ".join(repr(k) for k in unknown[:5]),
                    "known": ", ".join(fields),
                },
            )
        return data


_DOMAIN_MARK = "x-inloop-installed-domains"


def installed_domain() -> dict[str, Any]:
    """``json_schema_extra`` for a field that must name an installed domain (enum filled by :func:`document`)."""
    return {_DOMAIN_MARK: True}


def document(app: FastAPI, domains: Sequence[str]) -> None:
    """State the installed domains as the enum of every field marked with :func:`installed_domain`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _fill(generate(), sorted(domains))
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _fill(node: Any, domains: list[str]) -> None:
    if isinstance(node, dict):
        if node.pop(_DOMAIN_MARK, False):
            node["enum"] = domains
        for value in node.values():
            _fill(value, domains)
    elif isinstance(node, list):
        for value in node:
            _fill(value, domains)
