"""Invoice review queue: the scanned invoice beside the fields read and the reason; approve or reject.

The console never imports a domain. A domain that has a review queue exposes a zero-argument
factory as the ``review_service`` field of its :class:`~inloop.domains.DomainPlugin`; the object it
returns offers ``queue()`` (items with ``invoice_id``, ``original_name``, ``waiting_hours``,
``reason_kind``, ``reason``), ``show(id)`` (a dict with ``fields`` {name: {"value", "confidence"}},
``reason``, ``history``), ``file_path(id)``, ``approve(id, clerk, corrections)`` and
``reject(id, clerk, notice)``, raising ``ValueError`` with a message for the clerk when an action
cannot be done (:class:`inloop.domains.ReviewService`; the invoice_ocr domain's ``ReviewService`` has this shape).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from inloop import domains as registry
from inloop_console.access import guard, identity_input, plain

guard()  # a page opened around app.py still requires login

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def show_file(path: Path) -> None:
    """The scan as an image; a PDF's first page rendered when pypdfium2 is there, else a download."""
    if not path.is_file():
        st.warning(f"The stored file is missing: {path}")
        return
    data = path.read_bytes()
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or path.suffix.lower() in IMAGE_SUFFIXES:
        try:
            st.image(data, width="stretch")
            return
        except Exception:
            st.caption("The file does not display as an image (it may be damaged).")
    elif data[:5] == b"%PDF-":
        try:
            import pypdfium2 as pdfium

            page = pdfium.PdfDocument(data)[0]
            st.image(page.render(scale=1.5).to_pil(), width="stretch", caption="page 1")
            return
        except Exception:
            st.caption("The PDF does not render here (it may be damaged or protected).")
    st.download_button("Download the original file", data, file_name=path.name, key=f"dl_{path.name}")


st.title("Invoice review queue")
st.caption("Invoices the machine was unsure about wait here with the reason. Correct what was read wrong and "
           "approve (it is booked), or reject it with a notice to the supplier. Nothing leaves this queue "
           "without a person's decision, and every decision records who made it.")

services = {name: domain.review_service for name, domain in sorted(registry.discover_domains().items())
            if domain.review_service is not None}

if not services:
    st.info("No review queue is connected yet. The invoice domain's review service appears here once the domain "
            "exposes it to the console (`DomainPlugin(review_service=...)`); until then clerks "
            "use `python -m invoice_ocr review list|show|approve|reject`.", icon=":material/receipt_long:")
    st.stop()

name = st.selectbox("Domain", sorted(services), key="review_domain") if len(services) > 1 else next(iter(services))
try:
    service = services[name]()
    queue = list(service.queue())
except Exception as exc:
    st.error(f"The review queue cannot be read: {type(exc).__name__}: {exc}")
    st.stop()

# Optional parts of a review service: inbox entries refused at the door, and adding an unknown supplier.
refused = list(service.refused()) if hasattr(service, "refused") else []
if refused:
    plural = "entry" if len(refused) == 1 else "entries"
    with st.expander(f"Refused at the door: {len(refused)} inbox {plural} that will never be taken as invoices",
                     expanded=True):
        st.caption("Links, hidden files, devices and downloads that never finished are not invoices received: "
                   "they stay in the inbox untouched, outside reconciliation, until someone does what is said here.")
        st.dataframe([{"Entry": r["name"], "Why": r["reason"], "To do": r["action"],
                       "Since": str(r["first_seen"])[:16].replace("T", " ")} for r in refused],
                     hide_index=True, width="stretch")

if not queue:
    st.success("The review queue is empty: every invoice received is booked, rejected with a notice or still "
               "being read.", icon=":material/task_alt:")
    st.stop()

oldest = max(item.waiting_hours for item in queue)
st.metric("Waiting for a person", len(queue), f"oldest {oldest:.1f} h", delta_color="off")
# The selection is keyed by invoice id and labelled only with what never changes while an invoice
# waits: Streamlit remembers a choice by its label, so a label with the waiting time in it made the
# selection jump to another invoice (and drop what the clerk typed) as the hours moved on.
by_id = {item.invoice_id: item for item in queue}
picked_id = st.selectbox("Invoice", list(by_id), key="review_pick",
                         format_func=lambda invoice_id: f"#{invoice_id} · {by_id[invoice_id].original_name} · "
                                                        f"{by_id[invoice_id].reason_kind or 'review'}")
pick = by_id[picked_id]
st.caption(f"Invoice #{pick.invoice_id} has waited {pick.waiting_hours:.1f} h for a person.")
detail = service.show(pick.invoice_id)
st.warning(f"**Why it is here:** {plain(str(detail.get('reason') or pick.reason or 'no reason recorded'))}",
           icon=":material/help:")
left, right = st.columns([3, 2])
with left:
    show_file(Path(service.file_path(pick.invoice_id)))
with right:
    who = identity_input(f"review_clerk_{pick.invoice_id}", "Your name (recorded with the decision)")
    if hasattr(service, "propose_supplier") and "supplier not in the master data" in str(detail.get("reason")):
        with st.expander("Unknown supplier: add it to the master data"):
            proposal_key = f"supplier_proposal_{pick.invoice_id}"
            if st.button("Propose a record from this invoice", key=f"propose_{pick.invoice_id}"):
                try:
                    st.session_state[proposal_key] = service.propose_supplier(pick.invoice_id)
                except (ValueError, LookupError, OSError) as exc:
                    st.error(f"No proposal: {exc}")
            proposal = st.session_state.get(proposal_key)
            if proposal and proposal.get("refusal"):
                st.error(plain(proposal["refusal"]))
            elif proposal:
                record = {f: st.text_input(f.replace("_", " "), value=v, key=f"supplier_{pick.invoice_id}_{f}",
                                           help=proposal["sources"].get(f))
                          for f, v in proposal["record"].items()}
                for problem in proposal.get("problems") or []:
                    st.caption(f"To fill in: {problem}")
                if st.button("Add this supplier", key=f"add_supplier_{pick.invoice_id}", icon=":material/add:"):
                    try:
                        added = service.add_supplier(pick.invoice_id, who, record)
                    except (ValueError, LookupError) as exc:
                        st.error(f"Not added: {exc}")
                    else:
                        st.success(f"Supplier {added['supplier_id']} added by {who}. Enter {added['supplier_id']} as "
                                   "the supplier id below and approve; their next invoices book without review.")
    st.markdown("**Fields read** (correct what is wrong)")
    if detail.get("path_taken"):  # e-invoice XML (exact), the PDF's text layer, or OCR of a scan
        st.caption(f"Read from: {detail['path_taken']}"
                   + (f" · language {detail['language']}" if detail.get("language") else ""))
    corrections: dict[str, str] = {}
    for field_name, read in (detail.get("fields") or {}).items():
        read = read if isinstance(read, dict) else {"value": read}
        value = "" if read.get("value") is None else str(read.get("value"))
        confidence = read.get("confidence")
        label = field_name.replace("_", " ") + (f" (confidence {confidence:.0%})"
                                                if isinstance(confidence, int | float) else "")
        typed = st.text_input(label, value=value, key=f"review_{pick.invoice_id}_{field_name}")
        if typed.strip() != value:
            corrections[field_name] = typed
    if st.button("Approve and book", key=f"approve_{pick.invoice_id}", type="primary", icon=":material/check:"):
        try:
            service.approve(pick.invoice_id, who, corrections)
        except (ValueError, LookupError) as exc:
            st.error(f"Not approved: {exc}")
        else:
            st.success(f"Invoice #{pick.invoice_id} approved by {who} and booked"
                       + (f" (corrected: {', '.join(sorted(corrections))})" if corrections else "") + ".")
    notice = st.text_area("Notice to the supplier (for a rejection)", key=f"notice_{pick.invoice_id}",
                          placeholder="e.g. The scan is unreadable: please send the invoice again as a PDF.")
    if st.button("Reject with this notice", key=f"reject_{pick.invoice_id}", icon=":material/block:"):
        try:
            service.reject(pick.invoice_id, who, notice)
        except (ValueError, LookupError) as exc:
            st.error(f"Not rejected: {exc}")
        else:
            st.success(f"Invoice #{pick.invoice_id} rejected by {who}; the notice goes to the supplier.")
    history = detail.get("history") or []
    if history:
        with st.expander("History of this invoice"):
            st.json(history, expanded=False)
