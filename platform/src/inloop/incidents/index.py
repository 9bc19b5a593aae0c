"""The post-mortem index in the platform DB, rebuilt from the files (the files are the truth).

The console and the API list post-mortems and track action points from the ``postmortems`` and
``action_items`` tables; :func:`reindex` replaces a domain's rows with what its
``postmortems/*.md`` files say, in one transaction, and reports every file it could not read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from inloop import db
from inloop import domains as domain_registry
from inloop.db.models import ActionItem, PostmortemIndex
from inloop.incidents.postmortems import Postmortem, PostmortemError, load_postmortem

__all__ = ["IndexedPostmortem", "IndexReport", "list_postmortems", "load_folder", "reindex"]


@dataclass
class IndexReport:
    indexed: list[tuple[str, str]] = field(default_factory=list)
    action_items: int = 0
    errors: list[PostmortemError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class IndexedPostmortem:
    domain: str
    slug: str
    path: str
    title: str
    status: str
    incident_date: dt.date | None
    summary: str
    open_action_items: int


def load_folder(domain: str, folder: Path) -> tuple[list[tuple[Path, Postmortem]], list[PostmortemError]]:
    """Every ``*.md`` in ``folder`` parsed, and the errors of those that did not parse."""
    loaded, errors = [], []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        try:
            pm = load_postmortem(path)
        except PostmortemError as exc:
            errors.append(exc)
            continue
        if pm.domain != domain:
            errors.append(PostmortemError(path, [("domain", f"says {pm.domain!r} but the file is in the "
                                                  f"{domain!r} domain's folder")]))
            continue
        loaded.append((path, pm))
    return loaded, errors


def reindex(folders: Mapping[str, Path] | None = None, *, db_url: str | None = None) -> IndexReport:
    """Rebuild the index for each domain (default: every installed domain's ``postmortems/``)."""
    if folders is None:
        folders = {name: d.postmortems_dir for name, d in domain_registry.discover_domains().items()}
    report = IndexReport()
    with db.session(db_url) as sess:
        for domain, folder in sorted(folders.items()):
            loaded, errors = load_folder(domain, Path(folder))
            report.errors += errors
            sess.execute(sa.delete(ActionItem).where(ActionItem.domain == domain))
            sess.execute(sa.delete(PostmortemIndex).where(PostmortemIndex.domain == domain))
            for path, pm in loaded:
                slug = path.stem
                sess.add(PostmortemIndex(domain=domain, slug=slug, path=str(path), title=pm.title, status=pm.status,
                                         incident_date=pm.date, summary=pm.summary))
                accepted = set(pm.review.accepted_action_points)
                for position, action in enumerate(pm.action_points):
                    sess.add(ActionItem(domain=domain, postmortem_slug=slug, position=position, ref=action.id,
                                        kind=action.type, description=action.description, owner=action.owner,
                                        priority=action.priority, status=action.status, ticket=action.ticket,
                                        accepted=action.id in accepted))
                    report.action_items += 1
                report.indexed.append((domain, slug))
    return report


def list_postmortems(domain: str | None = None, *, db_url: str | None = None) -> list[IndexedPostmortem]:
    """The indexed post-mortems, newest incident first, with their open accepted action points."""
    with db.read_session(db_url) as sess:
        query = sa.select(PostmortemIndex).order_by(PostmortemIndex.incident_date.desc(), PostmortemIndex.slug)
        if domain:
            query = query.where(PostmortemIndex.domain == domain)
        rows = sess.scalars(query).all()
        open_counts = dict(((d, s), n) for d, s, n in sess.execute(
            sa.select(ActionItem.domain, ActionItem.postmortem_slug, sa.func.count())
            .where(ActionItem.accepted.is_(True), ActionItem.status.in_(("open", "in_progress")))
            .group_by(ActionItem.domain, ActionItem.postmortem_slug)))
        return [IndexedPostmortem(r.domain, r.slug, r.path, r.title, r.status, r.incident_date, r.summary,
                                  open_counts.get((r.domain, r.slug), 0)) for r in rows]
