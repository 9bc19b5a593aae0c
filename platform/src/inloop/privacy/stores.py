"""Generic scrubbers for the kinds of stores pipelines write: parquet files, text files, pickled outputs.

Each function takes a predicate on a subject's value and either removes what matches
(``erase=True``) or only counts it (``erase=False``, the verification scan). A file is rewritten
only when something in it matched, through a temporary file and an atomic rename, so a crash
never leaves half a file and other people's rows are never touched.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["TEXT_SUFFIXES", "scrub_object", "scrub_parquet_tree", "scrub_pickle_files", "scrub_text_tree"]

#: Text files that may quote a subject (reports, drafts, spilled log lines, exported CSV).
TEXT_SUFFIXES = (".md", ".txt", ".json", ".jsonl", ".csv", ".yaml", ".yml", ".html")
#: In these, a line that names the subject is one record about them: the whole line goes.
_LINE_RECORDS = (".csv", ".jsonl")
REDACTED = "[erased subject]"

Match = Callable[[Any], bool]


def _atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".erasing-")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _frame_mask(frame: pd.DataFrame, columns: Sequence[str], match: Match) -> pd.Series:
    mask = pd.Series(False, index=frame.index)
    for column in columns:
        if column in frame.columns:
            mask |= frame[column].map(match).fillna(False).astype(bool)
    return mask


def _files(root: Path, suffixes: Iterable[str]) -> list[Path]:
    if not root.is_dir():
        return []
    wanted = tuple(suffixes)
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.name.endswith(wanted)
                  and not p.name.startswith(".erasing-"))


def scrub_parquet_tree(root: Path, columns: Sequence[str], match: Match, *, erase: bool,
                       unreadable: list[Path] | None = None) -> tuple[int, int]:
    """Rows whose key ``columns`` match, in every parquet file under ``root``: (rows, files).

    Files that cannot be read are appended to ``unreadable`` (they cannot be vouched for).
    """
    rows = files = 0
    for path in _files(root, (".parquet",)):
        try:
            frame = pd.read_parquet(path)
        except Exception:
            if unreadable is not None:
                unreadable.append(path)
            continue
        mask = _frame_mask(frame, columns, match)
        hits = int(mask.sum())
        if not hits:
            continue
        rows, files = rows + hits, files + 1
        if erase:
            kept = frame.loc[~mask]
            _atomic_write(path, lambda handle, kept=kept: kept.to_parquet(handle, index=False))
    return rows, files


def scrub_text_tree(root: Path, patterns: Sequence[re.Pattern[str]], *, erase: bool,
                    suffixes: Sequence[str] = TEXT_SUFFIXES) -> tuple[int, int]:
    """Mentions of the subject in text files under ``root``: (mentions, files).

    CSV and JSON-lines files lose every line that names the subject (a line is a record about
    them); other text files get each mention replaced by ``[erased subject]``.
    """
    mentions = files = 0
    for path in _files(root, suffixes):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found = sum(len(p.findall(text)) for p in patterns)
        if not found:
            continue
        mentions, files = mentions + found, files + 1
        if not erase:
            continue
        if path.suffix in _LINE_RECORDS:
            lines = text.splitlines(keepends=True)
            new = "".join(line for line in lines if not any(p.search(line) for p in patterns))
        else:
            new = text
            for pattern in patterns:
                new = pattern.sub(REDACTED, new)
        _atomic_write(path, lambda handle, new=new: handle.write(new), mode="w")
    return mentions, files


def _about(obj: Any, attributes: Sequence[str], match: Match) -> bool:
    """A record (dataclass, mapping) whose own key attribute names the subject."""
    if isinstance(obj, dict):
        return any(a in obj and match(obj[a]) for a in attributes)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return any(match(getattr(obj, a, None)) for a in attributes if hasattr(obj, a))
    return False


def scrub_object(obj: Any, attributes: Sequence[str], match: Match, *, erase: bool,
                 _depth: int = 0) -> tuple[Any, int]:
    """Walk DataFrames, dataclasses, lists, tuples and dicts; drop rows and records about the subject.

    Returns (the object with them removed, how many rows/records matched). Objects of other
    types (models, arrays) are returned unchanged: they hold no rows keyed by a subject.
    """
    if _depth > 20:
        return obj, 0
    if isinstance(obj, pd.DataFrame):
        mask = _frame_mask(obj, attributes, match)
        hits = int(mask.sum())
        if not (erase and hits):
            return obj, hits
        kept = obj.loc[~mask]
        # A frame that had a plain 0..n-1 index keeps one (code downstream may rely on positions).
        if isinstance(obj.index, pd.RangeIndex) and obj.index.start == 0 and obj.index.step == 1:
            kept = kept.reset_index(drop=True)
        return kept, hits
    if isinstance(obj, list | tuple):
        hits, out = 0, []
        for item in obj:
            if _about(item, attributes, match):
                hits += 1
                if erase:
                    continue
                out.append(item)
                continue
            new, n = scrub_object(item, attributes, match, erase=erase, _depth=_depth + 1)
            hits += n
            out.append(new)
        if not erase or not hits:
            return obj, hits
        return (type(obj)(out) if isinstance(obj, list) or type(obj) is tuple else obj), hits
    if isinstance(obj, dict):
        hits, changes = 0, {}
        for key, value in obj.items():
            if _about(value, attributes, match):
                hits += 1
                changes[key] = None
                continue
            new, n = scrub_object(value, attributes, match, erase=erase, _depth=_depth + 1)
            if n:
                hits += n
                changes[key] = new
        if not erase or not hits:
            return obj, hits
        return {k: changes.get(k, v) for k, v in obj.items() if not (k in changes and changes[k] is None)}, hits
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        hits, changes = 0, {}
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            new, n = scrub_object(getattr(obj, f.name), attributes, match, erase=erase, _depth=_depth + 1)
            if n:
                hits += n
                changes[f.name] = new
        if not erase or not hits:
            return obj, hits
        return dataclasses.replace(obj, **changes), hits
    return obj, 0


def scrub_pickle_files(paths: Iterable[Path], attributes: Sequence[str], match: Match,
                       *, erase: bool, unreadable: list[Path] | None = None) -> tuple[int, int]:
    """Pickled pipeline outputs (Dagster's filesystem IO manager): (rows/records, files).

    Outputs that no longer unpickle (their class changed) are appended to ``unreadable``.
    """
    rows = files = 0
    for path in paths:
        if not path.is_file():
            continue
        try:
            with path.open("rb") as handle:
                obj = pickle.load(handle)  # noqa: S301 - our own pipeline outputs, in our data directory
        except Exception:
            if unreadable is not None:
                unreadable.append(path)
            continue
        new, hits = scrub_object(obj, attributes, match, erase=erase)
        if not hits:
            continue
        rows, files = rows + hits, files + 1
        if erase:
            _atomic_write(path, lambda handle, new=new: pickle.dump(new, handle, pickle.HIGHEST_PROTOCOL))
    return rows, files
