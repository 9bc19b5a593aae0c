"""Overview: a scoreboard of every project's concerns — state (an open alert colours it), the metric in the
card's words against its threshold, the trend — each linked to its concern page."""

from __future__ import annotations

import dataclasses

import streamlit as st

from inloop import domains as registry
from inloop.alerts import list_alerts
from inloop.wording import count_of
from inloop_console import queries
from inloop_console.access import guard, plain
from inloop_console.concerns import concern_state, scoreboard_html

guard()  # a page opened around app.py still requires login

st.title("Are your concerns holding?")
domains = registry.discover_domains()
loaded = queries.load_cards(domains)
statuses = queries.concern_statuses(loaded.cards)
open_alerts = list_alerts(status="open", limit=500)
states = {(s.domain, s.concern.id): concern_state(s, open_alerts) for s in statuses}
# An open ERROR alert counts as "needs attention" in the first line too: it is never reported as holding.
line = queries.headline([dataclasses.replace(s, status="needs attention") if states[(s.domain, s.concern.id)].bad
                         else s for s in statuses])
if any(state.bad for state in states.values()):
    st.error(line, icon=":material/error:")
elif statuses and all(state.word == "holds" for state in states.values()):
    st.success(line, icon=":material/check_circle:")
else:
    st.info(line, icon=":material/info:")

for name, problem in loaded.errors.items():
    st.error(f"The project card of {name} cannot be read, so its concerns are not shown.")
    st.code(problem, language=None)
if not domains:
    st.warning("No domains are installed. Each domain registers itself through the `inloop.domains` "
               "entry point (see docs); `uv sync` installs the three demo domains.")

if open_alerts:
    n = len(open_alerts)
    newest = open_alerts[0]
    project = loaded.cards[newest.domain].title if newest.domain in loaded.cards else newest.domain
    st.warning(f"{n}{'+' if n == 500 else ''} open alert{'' if n == 1 else 's'}: newest is "
               f"“{plain(newest.title)}” ({plain(project)}).", icon=":material/notifications:")
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
        project = loaded.cards[name].title if name in loaded.cards else name
        st.warning(f"{count_of(len(refused), 'inbox entry')} of {plain(project)} refused at the door "
                   f"(never taken as invoices): {plain(names)}.", icon=":material/do_not_disturb_on:")
        st.page_link("pages/review_queue.py", label="See why and what to do in the review queue",
                     icon=":material/receipt_long:")

by_domain: dict[str, list[queries.ConcernStatus]] = {}
for s in statuses:
    by_domain.setdefault(s.domain, []).append(s)
if len(by_domain) > 1:
    shown = st.pills("Projects", list(by_domain), selection_mode="multi", default=list(by_domain),
                     key="overview_projects", format_func=lambda n: loaded.cards[n].title)
else:
    shown = list(by_domain)
for name, items in by_domain.items():
    if name not in (shown or []):
        continue
    card = loaded.cards[name]
    words = [states[(s.domain, s.concern.id)].word for s in items]
    bad = sum(w in ("needs attention", "alert open") for w in words)
    counts = [f"{words.count('holds')} hold", f"{bad} need{'s' if bad == 1 else ''} attention",
              f"{words.count('not yet checked')} not yet checked"]
    if words.count("warning open"):
        counts.insert(2, f"{words.count('warning open')} with a warning")
    st.subheader(card.title)
    st.caption(" · ".join(counts) + " · click a concern for its page")
    st.markdown(scoreboard_html(items, states), unsafe_allow_html=True)
    with st.expander("For engineers: concern ids, code names, why unchecked"):
        for s in items:
            state = states[(s.domain, s.concern.id)]
            metric = f" · metric `{s.concern.metric.name}`" if s.concern.metric else ""
            check = f" · check `{s.concern.check}`" if s.concern.check else ""
            why = f" · {state.why}" if state.why else ""
            st.caption(f"`{s.concern.id}`{metric}{check} — {plain(state.word)}{plain(why)}")
