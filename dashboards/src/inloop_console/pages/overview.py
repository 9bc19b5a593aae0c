"""Overview: every stakeholder concern, whether it holds, its metric against the threshold, its trend."""

from __future__ import annotations

import streamlit as st

from inloop import domains as registry
from inloop.alerts import list_alerts
from inloop.settings import get_settings
from inloop_console import queries
from inloop_console.access import guard, plain

guard()  # a page opened around app.py still requires login

BADGE = {"holds": ":green-badge[:material/check_circle: holds]",
         "needs attention": ":red-badge[:material/error: needs attention]",
         "not yet checked": ":gray-badge[:material/schedule: not yet checked]"}


def trend_chart(status: queries.ConcernStatus) -> dict:
    """Vega-Lite spec of the metric's recent values, the threshold as a dashed rule, failed checks in red.

    Written as a plain spec (not Altair) because Altair validates every chart against the schema,
    which made an overview with twenty trends take seconds.
    """
    values = [{"checked": p.evaluated_at.isoformat(), "value": p.value, "holds": p.passed} for p in status.history]
    span = status.history[-1].evaluated_at - status.history[0].evaluated_at
    time_format = "%d %b" if span.days >= 2 else "%d %b %H:%M"
    layers: list[dict] = [
        {"mark": {"type": "line", "color": "#888"},
         "encoding": {"x": {"field": "checked", "type": "temporal", "title": None,
                            "axis": {"labelAngle": 0, "tickCount": 3, "format": time_format}},
                      "y": {"field": "value", "type": "quantitative", "title": None,
                            "axis": {"format": ".3~r", "tickCount": 3}}}},
        {"mark": {"type": "circle", "size": 40},
         "encoding": {"x": {"field": "checked", "type": "temporal"}, "y": {"field": "value", "type": "quantitative"},
                      "color": {"field": "holds", "type": "nominal", "legend": None,
                                "scale": {"domain": [True, False], "range": ["#2e7d32", "#c62828"]}},
                      "tooltip": [{"field": "checked", "type": "temporal", "format": "%Y-%m-%d %H:%M"},
                                  {"field": "value", "type": "quantitative"}, {"field": "holds", "type": "nominal"}]}},
    ]
    if status.concern.threshold is not None:
        layers.append({"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#c62828"},
                       "encoding": {"y": {"datum": status.concern.threshold.value, "type": "quantitative"}}})
    return {"data": {"values": values}, "height": 110, "layer": layers}


def evidence_links(status: queries.ConcernStatus) -> list[str]:
    links = []
    url = status.evidence_url
    if url and url.startswith(("http://", "https://")):
        links.append(f"[evidence]({url})")
    elif url:
        links.append(f"evidence: `{url}`" + (" (open it on the Monitoring page, “Drift reports”)"
                                               if url.endswith(".html") else ""))
    if status.run_id:
        dagster = f"http://127.0.0.1:{get_settings().dagster_port}/runs/{status.run_id}"
        links.append(f"[check run in Dagster]({dagster})")
    return links


def concern_row(status: queries.ConcernStatus, alert_id: int | None) -> None:
    concern = status.concern
    with st.container(border=True):
        left, middle, right = st.columns([5, 3, 4], vertical_alignment="center")
        with left:
            st.markdown(f"{BADGE[status.status]} **{plain(concern.statement)}**")
            who = f"raised by {plain(concern.raised_by)}" if concern.raised_by else ""
            st.caption(" · ".join(x for x in (who, f"concern `{concern.id}`") if x))
        with middle:
            if status.status == "not yet checked":
                st.caption(f"Not yet checked: {status.why_unchecked}.")
                if status.threshold and concern.metric:
                    st.caption(f"Will hold when {concern.metric.name} {status.threshold}.")
            else:
                unit = concern.metric.unit if concern.metric else ""
                name = concern.metric.name if concern.metric else "metric"
                # The unit goes in the caption: long units ("share of sessions ...") cut the number off.
                st.metric(name, queries.fmt_value(status.value), help=concern.metric.description
                          if concern.metric else None)
                st.caption((f"{plain(unit)} · " if unit else "") + f"must be {status.threshold} · last checked "
                           f"{status.last_checked:%Y-%m-%d %H:%M} UTC")
        with right:
            if len(status.history) >= 2:
                st.vega_lite_chart(trend_chart(status), width="stretch")
            elif status.history:
                st.caption("One check so far: the trend appears after the next run.")
        if status.status != "not yet checked":
            extra = evidence_links(status)
            with st.expander("Details and evidence"):
                if status.summary:
                    st.text(status.summary)
                if extra:
                    st.markdown(" · ".join(extra))
                if alert_id is not None:
                    st.page_link("pages/alerts.py", label=f"Open alert #{alert_id} for this concern",
                                 icon=":material/notifications:")
                if concern.worst_case:
                    st.markdown(f"**Worst case:** {plain(concern.worst_case)}")
                if concern.demo:
                    # ?demo=<domain>:<demo> opens the demos page on this demo, not the first of its list.
                    st.page_link("pages/demos.py", label=f"Watch the worst-case demo `{concern.demo}`",
                                 icon=":material/play_circle:",
                                 query_params={"demo": f"{status.domain}:{concern.demo}"})


st.title("Are your concerns holding?")
domains = registry.discover_domains()
loaded = queries.load_cards(domains)
statuses = queries.concern_statuses(loaded.cards)
line = queries.headline(statuses)
if any(s.status == "needs attention" for s in statuses):
    st.error(line, icon=":material/error:")
elif statuses and all(s.status == "holds" for s in statuses):
    st.success(line, icon=":material/check_circle:")
else:
    st.info(line, icon=":material/info:")

for name, problem in loaded.errors.items():
    st.error(f"The project card of {name} cannot be read, so its concerns are not shown.")
    st.code(problem, language=None)
if not domains:
    st.warning("No domains are installed. Each domain registers itself through the `inloop.domains` "
               "entry point (see docs); `uv sync` installs the three demo domains.")

open_alerts = list_alerts(status="open", limit=200)
alert_of = {(a.domain, a.concern_id): a.id for a in reversed(open_alerts) if a.concern_id}
if open_alerts:
    st.warning(f"{len(open_alerts)}{'+' if len(open_alerts) == 200 else ''} open alert(s): newest is "
               f"“{plain(open_alerts[0].title)}” ({open_alerts[0].domain}).", icon=":material/notifications:")
    st.page_link("pages/alerts.py", label="Open the alerts inbox", icon=":material/notifications:")

# Inbox entries a domain's intake refused at the door (links, hidden files, devices): not invoices
# received, so no concern metric counts them, but they must not sit in an inbox unnoticed.
for name, domain in sorted(domains.items()):
    factory = getattr(domain, "review_service", None)
    try:
        service = factory() if factory is not None else None
        refused = list(service.refused()) if service is not None and hasattr(service, "refused") else []
    except Exception as exc:
        st.caption(f"The inbox of {name} cannot be read: {type(exc).__name__}: {exc}")
        continue
    if refused:
        names = ", ".join(r["name"] for r in refused[:3]) + (f" (+{len(refused) - 3})" if len(refused) > 3 else "")
        st.warning(f"{len(refused)} inbox entr{'y' if len(refused) == 1 else 'ies'} of {name} refused at the door "
                   f"(never taken as invoices): {plain(names)}.", icon=":material/do_not_disturb_on:")
        st.page_link("pages/review_queue.py", label="See why and what to do in the review queue",
                     icon=":material/receipt_long:")

by_domain: dict[str, list[queries.ConcernStatus]] = {}
for s in statuses:
    by_domain.setdefault(s.domain, []).append(s)
for name, items in by_domain.items():
    card = loaded.cards[name]
    counts = {k: sum(s.status == k for s in items) for k in BADGE}
    st.subheader(card.title)
    st.caption(f"{name} · {counts['holds']} hold · {counts['needs attention']} need attention · "
               f"{counts['not yet checked']} not yet checked")
    order = {"needs attention": 0, "holds": 1, "not yet checked": 2}
    for s in sorted(items, key=lambda s: order[s.status]):
        concern_row(s, alert_of.get((s.domain, s.concern.id)))
