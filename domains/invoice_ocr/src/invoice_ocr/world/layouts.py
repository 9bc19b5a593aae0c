"""The layouts: fourteen ways issuers arrange an invoice, as HTML for Chromium to print.

Each layout is a function from a :class:`~invoice_ocr.world.content.PrintedInvoice` to a complete
HTML document. They differ in what a reader has to cope with: labels left of, right of, above and
below their values and inside running text; key-value blocks, bordered form boxes and horizontal
tables; metadata in the header, a side panel or the page footer; logos drawn as shapes; one or two
address columns; totals in a box, a table row or a sentence; serif, sans and monospaced fonts;
distracting dates (delivery, service period, stay nights) and numbers (order, customer, folio);
the buyer's own VAT id; carried-forward subtotals on multi-page invoices.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from invoice_ocr.world.content import PrintedInvoice
from invoice_ocr.world.conventions import LABELS

__all__ = ["LAYOUTS", "render_html"]


_NUMBER_MARK = {"en": "No.", "de": "Nr.", "fr": "N°", "nl": "nr.", "es": "Nº", "it": "n."}
_DAY_WORD = {"en": "Date", "de": "Datum", "fr": "Date", "nl": "Datum", "es": "Fecha", "it": "Data"}


def _e(text: object) -> str:
    return html.escape(str(text))


def _page(p: PrintedInvoice, css: str, body: str) -> str:
    font = p.inv.font
    return (
        f"<!doctype html><html lang='{p.m.language}'><head><meta charset='utf-8'><style>"
        f"@page {{ size: A4; margin: 14mm 14mm 16mm 14mm; }}"
        f"body {{ font-family: '{font}'; font-size: 10pt; color: #111; margin: 0; }}"
        f"table {{ border-collapse: collapse; }} td, th {{ padding: 2px 4px; vertical-align: top; }}"
        f"thead {{ display: table-header-group; }} tr {{ page-break-inside: avoid; }}"
        f".r {{ text-align: right; }} .b {{ font-weight: bold; }} .small {{ font-size: 8pt; color: #444; }}"
        f"{css}</style></head><body>{body}</body></html>"
    )


def _logo(p: PrintedInvoice, shape: str, colour: str, size: int = 46) -> str:
    initials = "".join(w[0] for w in p.inv.supplier.name.split()[:2]).upper()
    shapes = {
        "circle": f"<circle cx='{size / 2}' cy='{size / 2}' r='{size / 2 - 1}' fill='{colour}'/>",
        "square": f"<rect x='1' y='1' width='{size - 2}' height='{size - 2}' rx='6' fill='{colour}'/>",
        "triangle": f"<polygon points='{size / 2},1 {size - 1},{size - 1} 1,{size - 1}' fill='{colour}'/>",
        "hexagon": f"<polygon points='{size * 0.25},2 {size * 0.75},2 {size - 1},{size / 2} {size * 0.75},{size - 2} "
        f"{size * 0.25},{size - 2} 1,{size / 2}' fill='{colour}'/>",
        "bars": "".join(
            f"<rect x='{i * size / 4}' y='{size * (0.6 - i * 0.18)}' width='{size / 5}' "
            f"height='{size * (0.4 + i * 0.18)}' fill='{colour}'/>"
            for i in range(4)
        ),
    }
    text = (
        ""
        if shape == "bars"
        else (
            f"<text x='50%' y='58%' text-anchor='middle' font-size='{size * 0.36}' "
            f"fill='white' font-family='DejaVu Sans'>{_e(initials)}</text>"
        )
    )
    return f"<svg width='{size}' height='{size}' viewBox='0 0 {size} {size}'>{shapes[shape]}{text}</svg>"


def _items(p: PrintedInvoice, *, dated: bool = False, cls: str = "items", pos: bool = True) -> str:
    inv = p.inv
    head = (
        ("<th>Pos</th>" if pos else "")
        + (f"<th>{_e(_DAY_WORD[p.m.language])}</th>" if dated else "")
        + f"<th>{_e(p.label('desc'))}</th><th class='r'>{_e(p.label('qty'))}</th>"
        f"<th class='r'>{_e(p.label('unit'))}</th><th class='r'>{_e(p.label('amount'))}</th>"
    )
    rows = []
    for k, it in enumerate(inv.lines, 1):
        rows.append(
            "<tr>"
            + (f"<td>{k}</td>" if pos else "")
            + (f"<td>{_e(p.date(it.day))}</td>" if dated else "")
            + f"<td>{_e(it.description)}</td><td class='r'>{_e(p.qty(it.quantity))}</td>"
            f"<td class='r'>{_e(p.number(it.unit_price))}</td><td class='r'>{_e(p.number(it.amount))}</td></tr>"
        )
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _totals_rows(p: PrintedInvoice) -> list[tuple[str, str]]:
    inv = p.inv
    return [
        (p.label("net"), p.money(inv.net)),
        (p.vat_label(), p.money(inv.vat)),
        (p.label("total"), p.money(inv.total)),
    ]


def _address(p: PrintedInvoice, party: object) -> str:
    return "<br>".join(_e(line) for line in p.address_lines(party))  # type: ignore[arg-type]


def _bank(p: PrintedInvoice, sep: str = "<br>") -> str:
    s = p.inv.supplier
    if not s.iban:
        return _e("Payment by ACH to account 000" + p.inv.customer_no[-4:] + ", routing 021000021")
    parts = [f"IBAN: <span style='white-space:nowrap'>{_e(p.iban())}</span>"]  # an IBAN is not broken
    if p.inv.show_bic:
        parts.append(f"BIC: {_e(s.bic)}")
    return sep.join(parts)


def _vat_line(p: PrintedInvoice) -> str:
    return f"{_e(p.label('vat_id'))}: {_e(p.vat_id())}" if p.inv.supplier.vat_id else ""


def _buyer_vat(p: PrintedInvoice) -> str:
    return f"{_e(p.label('customer_vat'))}: {_e(p.inv.buyer.vat_id)}" if p.inv.show_buyer_vat else ""


def _kv(rows: list[tuple[str, str]], cls: str = "kv") -> str:
    return (
        f"<table class='{cls}'>"
        + "".join(f"<tr><td>{_e(k)}</td><td class='r'>{_e(v)}</td></tr>" for k, v in rows if v)
        + "</table>"
    )


def _meta(p: PrintedInvoice) -> list[tuple[str, str]]:
    inv = p.inv
    return [
        (p.label("number"), inv.number),
        (p.label("date"), p.date(inv.issue_date)),
        (p.label("due"), p.date(inv.due_date)),
        (p.label("customer"), inv.customer_no),
    ]


# --- the layouts ----------------------------------------------------------------------------------------------


def din5008(p: PrintedInvoice) -> str:
    """German business letter: address window left, info block right, three-column footer."""
    inv, s = p.inv, p.inv.supplier
    css = (
        ".sender{font-size:7pt;text-decoration:underline;margin-top:30mm}.info{position:absolute;right:0;top:26mm}"
        ".info td:first-child{color:#555;padding-right:10mm}.items{width:100%;margin-top:8mm}"
        ".items th{border-bottom:1px solid #000;text-align:left}.tot{margin-left:auto;margin-top:4mm}"
        ".tot tr:last-child{font-weight:bold;border-top:1px solid #000}"
        ".foot{position:fixed;bottom:0;width:100%;display:flex;justify-content:space-between;font-size:7.5pt;"
        "border-top:1px solid #999;padding-top:2mm}.head{text-align:right;font-size:16pt;font-weight:bold}"
    )
    body = (
        f"<div class='head'>{_e(s.name)}</div>"
        f"<div class='sender'>{_e(s.name)} · {_e(s.street)} · {_e(s.postcode)} {_e(s.city)}</div>"
        f"<div>{_address(p, inv.buyer)}</div>"
        f"<div class='info'>{_kv(_meta(p) + [(p.label('delivery'), p.date(inv.delivery_date))])}</div>"
        f"<h2 style='margin-top:14mm'>{_e(p.label('invoice'))}</h2>"
        f"<p>{_e(p.label('thanks'))}</p>{_items(p)}{_kv(_totals_rows(p), 'tot')}<p class='small'>{_buyer_vat(p)}</p>"
        f"<div class='foot'><div>{_address(p, s)}</div><div>{_e(p.label('bank'))}<br>{_bank(p)}</div>"
        f"<div>{_vat_line(p)}<br>{_e(s.phone)}<br>{_e(s.email)}</div></div>"
    )
    return _page(p, css, body)


def banner(p: PrintedInvoice) -> str:
    """Coloured header band with a logo; metadata as cards, label above value; shaded totals box."""
    inv, s = p.inv, p.inv.supplier
    css = (
        ".band{background:#1d4e89;color:#fff;padding:6mm;display:flex;align-items:center;gap:5mm}"
        ".band h1{margin:0;font-size:22pt;flex:1;text-align:right}.cards{display:flex;gap:4mm;margin:6mm 0}"
        ".card{border:1px solid #ccd;padding:2mm 3mm;flex:1}.card .l{font-size:7.5pt;color:#557;"
        "text-transform:uppercase}.card .v{font-size:11pt;font-weight:bold}"
        ".items{width:100%}.items th{background:#e8eef7;text-align:left}.items td{border-bottom:1px solid #eee}"
        ".box{background:#f1f4f9;margin-left:auto;width:75mm;padding:3mm;margin-top:5mm}"
        ".box td:last-child{text-align:right}.box tr:last-child{font-size:12pt;font-weight:bold}"
    )
    cards = "".join(
        f"<div class='card'><div class='l'>{_e(k)}</div><div class='v'>{_e(v)}</div></div>"
        for k, v in _meta(p)[:3]
        if v
    )
    body = (
        f"<div class='band'>{_logo(p, 'circle', '#f0a500')}<div>{_e(s.name)}<br><small>{_e(s.street)}, "
        f"{_e(s.postcode)} {_e(s.city)}</small></div><h1>{_e(p.label('invoice'))}</h1></div>"
        f"<div class='cards'>{cards}</div><div><b>{_e(p.label('bill_to'))}</b><br>{_address(p, inv.buyer)}</div>"
        f"<br>{_items(p, pos=False)}<div class='box'>{_kv(_totals_rows(p), 'boxt')}</div>"
        f"<p class='small'>{_e(p.label('bank'))}: {_bank(p, ' · ')}<br>{_vat_line(p)} {_buyer_vat(p)}</p>"
    )
    return _page(p, css.replace(".boxt", ".box table") + ".box table{width:100%}", body)


def caption(p: PrintedInvoice) -> str:
    """Values large with their caption below them (label under value), as many design tools print."""
    inv, s = p.inv, p.inv.supplier
    css = (
        ".top{display:flex;justify-content:space-between}.vals{display:flex;gap:9mm;margin:8mm 0 6mm}"
        ".val .v{font-size:13pt}.val .l{font-size:7pt;color:#777;border-top:1px solid #bbb;margin-top:1mm}"
        ".items{width:100%}.items th{font-size:8pt;color:#777;text-align:left;border-bottom:2px solid #222}"
        ".sum{display:flex;justify-content:flex-end;gap:10mm;margin-top:6mm}.sum .v{font-size:12pt}"
        ".sum .big .v{font-size:16pt;font-weight:bold}"
    )
    vals = "".join(
        f"<div class='val'><div class='v'>{_e(v)}</div><div class='l'>{_e(k)}</div></div>"
        for k, v in _meta(p)[:3]
        if v
    )
    sums = "".join(
        f"<div class='val{' big' if i == 2 else ''}'><div class='v'>{_e(v)}</div>"
        f"<div class='l'>{_e(k)}</div></div>"
        for i, (k, v) in enumerate(_totals_rows(p))
    )
    body = (
        f"<div class='top'><div>{_logo(p, 'hexagon', '#2a9d8f', 40)}<h1 style='margin:2mm 0'>"
        f"{_e(p.label('invoice'))}</h1></div><div class='r small'>{_address(p, s)}<br>{_vat_line(p)}</div></div>"
        f"<div class='vals'>{vals}</div><div><span class='small'>{_e(p.label('bill_to'))}</span><br>"
        f"{_address(p, inv.buyer)}</div><br>{_items(p, pos=False)}<div class='sum'>{sums}</div>"
        f"<p class='small' style='margin-top:12mm'>{_e(p.label('bank'))}<br>{_bank(p)}<br>{_buyer_vat(p)}</p>"
    )
    return _page(p, css.replace(".sum .val", ".sum .val"), body)


def ledger_right(p: PrintedInvoice) -> str:
    """Values first, their labels to the right (a bookkeeping program's print-out)."""
    inv, s = p.inv, p.inv.supplier
    css = (
        ".vr td:first-child{text-align:right;font-weight:bold;padding-right:4mm}.vr td:last-child{color:#555}"
        ".items{width:100%;margin:5mm 0}.items th{border-top:1px solid #000;border-bottom:1px solid #000}"
        ".hdr{display:flex;justify-content:space-between;border-bottom:3px double #000;padding-bottom:2mm}"
    )
    rows = [(v, k) for k, v in _meta(p) if v]
    tot = [(v, k) for k, v in _totals_rows(p)]
    body = (
        f"<div class='hdr'><div><b>{_e(s.name)}</b><br>{_e(s.street)}<br>{_e(s.postcode)} {_e(s.city)}</div>"
        f"<div>{_logo(p, 'bars', '#6c757d', 36)}</div></div><h2>{_e(p.label('invoice'))}</h2>"
        f"<div style='display:flex;justify-content:space-between'><div>{_address(p, inv.buyer)}</div>"
        f"<table class='vr'>{''.join(f'<tr><td>{_e(v)}</td><td>{_e(k)}</td></tr>' for v, k in rows)}</table></div>"
        f"{_items(p)}<table class='vr' style='margin-left:auto'>"
        f"{''.join(f'<tr><td>{_e(v)}</td><td>{_e(k)}</td></tr>' for v, k in tot)}</table>"
        f"<p class='small'>{_vat_line(p)} — {_bank(p, ' — ')}</p><p class='small'>{_buyer_vat(p)}</p>"
    )
    return _page(p, css, body)


def two_column(p: PrintedInvoice) -> str:
    """From and bill-to side by side; the metadata as a horizontal table (labels in a header row)."""
    inv, s = p.inv, p.inv.supplier
    css = (
        ".cols{display:flex;gap:10mm;margin:6mm 0}.cols div{flex:1;border-left:3px solid #c44;padding-left:3mm}"
        ".meta{width:100%;margin-bottom:6mm}.meta th{background:#333;color:#fff;font-weight:normal;font-size:8pt;"
        "text-align:left}.meta td{border:1px solid #333}.items{width:100%}.items th{text-align:left;"
        "border-bottom:1px solid #999}.tot{margin-left:auto;margin-top:4mm}.tot tr:last-child td{font-weight:bold;"
        "border-top:2px solid #000}"
    )
    meta = [(k, v) for k, v in _meta(p) + [(p.label("order"), inv.order_ref)] if v]
    body = (
        f"<h1 style='color:#c44'>{_e(p.label('invoice'))}</h1><div class='cols'><div><b>{_e(p.label('from'))}"
        f"</b><br>{_address(p, s)}<br>{_vat_line(p)}</div><div><b>{_e(p.label('bill_to'))}</b><br>"
        f"{_address(p, inv.buyer)}<br>{_buyer_vat(p)}</div></div>"
        f"<table class='meta'><tr>{''.join(f'<th>{_e(k)}</th>' for k, _ in meta)}</tr>"
        f"<tr>{''.join(f'<td>{_e(v)}</td>' for _, v in meta)}</tr></table>{_items(p)}{_kv(_totals_rows(p), 'tot')}"
        f"<p class='small'>{_e(p.label('bank'))}: {_bank(p, ', ')}</p>"
    )
    return _page(p, css, body)


def hotel_folio(p: PrintedInvoice) -> str:
    """A hotel folio: guest block, stay dates, one dated line per night and extra; balance at the end."""
    inv, s = p.inv, p.inv.supplier
    arrival = inv.lines[0].day
    departure = inv.issue_date
    css = (
        ".h{text-align:center;border-bottom:1px solid #888;padding-bottom:3mm}.h .n{font-size:18pt;"
        "letter-spacing:2px}.g{display:grid;grid-template-columns:auto auto auto auto;gap:1mm 5mm;margin:5mm 0}"
        ".g .l{color:#666}.items{width:100%}.items th{border-bottom:1px solid #000;text-align:left}"
        ".tot{margin-left:auto;margin-top:3mm}.tot tr:last-child{font-weight:bold;font-size:11pt}"
    )
    arrive, depart = LABELS[p.m.language]["stay"]
    grid = [
        (p.label("folio"), inv.number),
        (p.label("date"), p.date(inv.issue_date)),
        (arrive, p.date(arrival)),
        (depart, p.date(departure)),
        (p.label("room"), inv.customer_no[-3:]),
        (p.label("due"), p.date(inv.due_date)),
    ]
    cells = "".join(f"<div class='l'>{_e(k)}</div><div>{_e(v)}</div>" for k, v in grid if v)
    body = (
        f"<div class='h'>{_logo(p, 'triangle', '#8a5a44', 34)}<div class='n'>{_e(s.name)}</div>"
        f"<div class='small'>{_e(s.street)} · {_e(s.postcode)} {_e(s.city)} · {_e(s.phone)}</div></div>"
        f"<h3>{_e(p.label('invoice'))}</h3><div>{_address(p, inv.buyer)}</div><div class='g'>{cells}</div>"
        f"{_items(p, dated=True, pos=False)}{_kv(_totals_rows(p), 'tot')}"
        f"<p class='small'>{_vat_line(p)}<br>{_bank(p)}<br>{_buyer_vat(p)}</p>"
    )
    return _page(p, css, body)


def utility(p: PrintedInvoice) -> str:
    """A utility bill: account summary box with the amount due large; a detachable payment slip below."""
    inv, s = p.inv, p.inv.supplier
    css = (
        ".top{display:flex;justify-content:space-between}.acct{border:2px solid #0a7;width:80mm;padding:3mm}"
        ".acct .due{font-size:20pt;font-weight:bold;color:#0a7}.per{margin:5mm 0;color:#333}"
        ".items{width:100%}.items th{text-align:left;color:#0a7;border-bottom:1px solid #0a7}"
        ".tot{margin-left:auto;margin-top:3mm}.slip{margin-top:14mm;border-top:1px dashed #000;padding-top:3mm;"
        "display:flex;justify-content:space-between;font-size:9pt}"
    )
    body = (
        f"<div class='top'><div>{_logo(p, 'square', '#0a7', 40)}<br><b>{_e(s.name)}</b><br>{_e(s.street)}<br>"
        f"{_e(s.postcode)} {_e(s.city)}<br><br>{_address(p, inv.buyer)}</div>"
        f"<div class='acct'><div>{_e(p.label('invoice'))}</div>{_kv(_meta(p))}"
        f"<div>{_e(p.label('total'))}</div><div class='due'>{_e(p.money(inv.total))}</div></div></div>"
        f"<div class='per'>{_e(p.label('period'))}: {_e(p.date(inv.period[0]))} – {_e(p.date(inv.period[1]))}</div>"
        f"{_items(p, pos=False)}{_kv(_totals_rows(p), 'tot')}"
        f"<div class='slip'><div>{_e(p.label('bank'))}<br>{_bank(p)}</div><div>{_e(p.label('customer'))}: "
        f"{_e(inv.customer_no)}<br>{_vat_line(p)}<br>{_buyer_vat(p)}</div></div>"
    )
    return _page(p, css, body)


def letter_prose(p: PrintedInvoice) -> str:
    """A freelancer's letter: number and date inside a sentence, a plain list, the total in bold prose."""
    inv, s = p.inv, p.inv.supplier
    css = (
        "body{font-size:11pt;line-height:1.45}.items{width:100%;margin:4mm 0}.items td,.items th{"
        "border-bottom:1px dotted #aaa}.tot{margin-left:auto}"
    )
    intro = (
        f"{_e(p.label('invoice'))} {_e(p.label('number').rstrip(':'))} {_e(inv.number)} "
        f"{_e(p.label('dated'))} {_e(p.date(inv.issue_date))}"
    )
    due = f"<p>{_e(p.label('due'))}: {_e(p.date(inv.due_date))}</p>" if inv.due_date else ""
    body = (
        f"<div class='r'>{_address(p, s)}<br>{_e(s.email)}</div><br><div>{_address(p, inv.buyer)}</div>"
        f"<br><br><p><b>{intro}</b></p><p>{_e(p.label('thanks'))}</p>{_items(p, pos=False)}"
        f"{_kv(_totals_rows(p), 'tot')}{due}<p>{_e(p.label('bank'))}: {_bank(p, ', ')}</p>"
        f"<p class='small'>{_vat_line(p)} {_buyer_vat(p)}</p>"
    )
    return _page(p, css, body)


def statement(p: PrintedInvoice) -> str:
    """Several pages cut by hand: the header repeated, carried-forward subtotals, totals on the last page."""
    inv, s = p.inv, p.inv.supplier
    per_page = 24
    chunks = [inv.lines[i : i + per_page] for i in range(0, len(inv.lines), per_page)]
    css = (
        ".pg{page-break-after:always;position:relative;min-height:255mm}.pg:last-child{page-break-after:auto}"
        ".hd{display:flex;justify-content:space-between;border-bottom:1px solid #000;margin-bottom:3mm}"
        ".items{width:100%}.items th{text-align:left;border-bottom:1px solid #000}.cf td{font-style:italic;"
        "border-top:1px solid #000}.tot{margin-left:auto;margin-top:4mm}.tot tr:last-child{font-weight:bold}"
        ".pn{position:absolute;bottom:0;right:0;font-size:8pt}"
    )
    pages, running, pos = [], inv.lines[0].amount * 0, 0
    for n, chunk in enumerate(chunks, 1):
        rows = []
        if n > 1:
            rows.append(
                f"<tr class='cf'><td></td><td>{_e(p.label('brought'))}</td><td></td><td></td><td></td>"
                f"<td class='r'>{_e(p.number(running))}</td></tr>"
            )
        for it in chunk:
            pos += 1
            running += it.amount
            rows.append(
                f"<tr><td>{pos}</td><td>{_e(p.date(it.day))} {_e(it.description)}</td><td></td>"
                f"<td class='r'>{_e(p.qty(it.quantity))}</td><td class='r'>{_e(p.number(it.unit_price))}</td>"
                f"<td class='r'>{_e(p.number(it.amount))}</td></tr>"
            )
        if n < len(chunks):
            rows.append(
                f"<tr class='cf'><td></td><td>{_e(p.label('carried'))}</td><td></td><td></td><td></td>"
                f"<td class='r'>{_e(p.number(running))}</td></tr>"
            )
        head = (
            f"<div class='hd'><div><b>{_e(s.name)}</b> · {_e(p.label('invoice'))}</div><div>"
            f"{_e(p.label('number'))} {_e(inv.number)} · {_e(p.label('date'))} {_e(p.date(inv.issue_date))}"
            f"</div></div>"
        )
        first = (
            f"<div style='display:flex;justify-content:space-between'><div>{_address(p, inv.buyer)}</div>"
            f"<div>{_address(p, s)}<br>{_vat_line(p)}</div></div><br>"
            if n == 1
            else ""
        )
        table = (
            f"<table class='items'><thead><tr><th>Pos</th><th>{_e(p.label('desc'))}</th><th></th>"
            f"<th class='r'>{_e(p.label('qty'))}</th><th class='r'>{_e(p.label('unit'))}</th>"
            f"<th class='r'>{_e(p.label('amount'))}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        last = (
            f"{_kv(_totals_rows(p), 'tot')}<p>{_e(p.label('due'))}: {_e(p.date(inv.due_date))}</p>"
            f"<p class='small'>{_e(p.label('bank'))}: {_bank(p, ' · ')}<br>{_buyer_vat(p)}</p>"
            if n == len(chunks)
            else ""
        )
        pages.append(
            f"<div class='pg'>{head}{first}{table}{last}<div class='pn'>{_e(p.label('page'))} {n}/"
            f"{len(chunks)}</div></div>"
        )
    return _page(p, css, "".join(pages))


def grid_pairs(p: PrintedInvoice) -> str:
    """A monospaced print-out: label: value pairs in two columns, dashed rules."""
    inv, s = p.inv, p.inv.supplier
    css = (
        "body{font-size:9.5pt}.g{display:grid;grid-template-columns:1fr 1fr;gap:1mm 8mm}.rule{border-top:1px "
        "dashed #000;margin:3mm 0}.items{width:100%}.items th{text-align:left}"
    )
    pairs = [
        (k, v)
        for k, v in _meta(p)
        + [(p.label("order"), inv.order_ref), (p.label("delivery"), p.date(inv.delivery_date))]
        if v
    ]
    cells = "".join(f"<div>{_e(k)}: {_e(v)}</div>" for k, v in pairs)
    tot = "".join(f"<div></div><div>{_e(k)}: {_e(v)}</div>" for k, v in _totals_rows(p))
    body = (
        f"<div><b>{_e(s.name)}</b> / {_e(s.street)} / {_e(s.postcode)} {_e(s.city)}</div><div>{_vat_line(p)}"
        f"</div><div class='rule'></div><div><b>{_e(p.label('invoice'))}</b></div><div class='g'>{cells}</div>"
        f"<div class='rule'></div><div>{_e(p.label('bill_to'))}:<br>{_address(p, inv.buyer)}</div>"
        f"<div class='rule'></div>{_items(p)}<div class='rule'></div><div class='g'>{tot}</div>"
        f"<div class='rule'></div><div>{_bank(p, ' / ')}</div><div>{_buyer_vat(p)}</div>"
    )
    return _page(p, css, body)


def footer_meta(p: PrintedInvoice) -> str:
    """Only a logo at the top; number, dates and bank details in a band at the foot of the page."""
    inv, s = p.inv, p.inv.supplier
    css = (
        ".logo{display:flex;align-items:center;gap:4mm;font-size:15pt}.items{width:100%;margin-top:8mm}"
        ".items th{text-align:left;background:#eee}.panel{border:1.5px solid #444;width:70mm;margin-left:auto;"
        "margin-top:5mm;padding:2mm}.panel table{width:100%}.panel tr:last-child{font-weight:bold}"
        ".band{position:fixed;bottom:0;left:0;right:0;background:#f4efe6;padding:3mm;display:grid;"
        "grid-template-columns:1fr 1fr 1fr;font-size:8.5pt;gap:1mm}"
    )
    band = "".join(f"<div><span class='small'>{_e(k)}</span><br>{_e(v)}</div>" for k, v in _meta(p)[:3] if v)
    body = (
        f"<div class='logo'>{_logo(p, 'square', '#b5651d', 38)}<b>{_e(s.name)}</b></div>"
        f"<div style='margin-top:10mm'>{_address(p, inv.buyer)}</div><h2>{_e(p.label('invoice'))}</h2>"
        f"{_items(p)}<div class='panel'>{_kv(_totals_rows(p), 'pt')}</div>"
        f"<div class='band'>{band}<div>{_address(p, s)}</div><div>{_bank(p)}</div><div>{_vat_line(p)}<br>"
        f"{_buyer_vat(p)}</div></div>"
    )
    return _page(p, css, body)


def boxed_form(p: PrintedInvoice) -> str:
    """A bordered form (common in Italy and Spain): grey label cells, value cells, totals as a box row."""
    inv, s = p.inv, p.inv.supplier
    css = (
        ".f{width:100%;margin-bottom:3mm}.f td{border:1px solid #555}.f .l{background:#ddd;font-size:8pt;"
        "width:28%}.items{width:100%}.items th,.items td{border:1px solid #555}.items th{background:#ddd}"
        ".tb{width:100%;margin-top:3mm}.tb th{background:#ddd;border:1px solid #555;font-size:8pt}"
        ".tb td{border:1px solid #555;text-align:center;font-size:11pt}"
    )
    meta = [(k, v) for k, v in _meta(p) if v]
    form = "".join(f"<tr><td class='l'>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta)
    tot = _totals_rows(p)
    body = (
        f"<div style='display:flex;justify-content:space-between'><div>{_logo(p, 'circle', '#900', 40)} "
        f"<b style='font-size:13pt'>{_e(s.name)}</b><br>{_e(s.street)} - {_e(s.postcode)} {_e(s.city)}<br>"
        f"{_vat_line(p)}</div><div style='border:1px solid #555;padding:2mm;width:70mm'>"
        f"{_e(p.label('bill_to'))}<br>{_address(p, inv.buyer)}<br>{_buyer_vat(p)}</div></div>"
        f"<h2>{_e(p.label('invoice'))}</h2><table class='f'>{form}</table>{_items(p)}"
        f"<table class='tb'><tr>{''.join(f'<th>{_e(k)}</th>' for k, _ in tot)}</tr>"
        f"<tr>{''.join(f'<td>{_e(v)}</td>' for _, v in tot)}</tr></table>"
        f"<table class='f' style='margin-top:3mm'><tr><td class='l'>{_e(p.label('bank'))}</td>"
        f"<td>{_bank(p, ' — ')}</td></tr></table>"
    )
    return _page(p, css, body)


def place_date(p: PrintedInvoice) -> str:
    """French-style: the date in a place line ("Paris, le ..."), the number in the title line."""
    inv, s = p.inv, p.inv.supplier
    place_word = {"fr": ", le ", "it": ", ", "es": ", a ", "de": ", den ", "nl": ", ", "en": ", "}[
        p.m.language
    ]
    css = (
        ".t{font-size:15pt;font-weight:bold;margin:8mm 0 4mm}.items{width:100%}.items th{border:1px solid #000;"
        "background:#f0f0f0}.items td{border-left:1px solid #000;border-right:1px solid #000}.items{border-bottom:"
        "1px solid #000}.tot{margin-left:auto;margin-top:4mm;border:1px solid #000}.tot td{border:1px solid #000}"
        ".tot tr:last-child{font-weight:bold}"
    )
    due = f"<p>{_e(p.label('due'))} : {_e(p.date(inv.due_date))}</p>" if inv.due_date else ""
    body = (
        f"<div style='display:flex;justify-content:space-between'><div>{_logo(p, 'triangle', '#234', 44)}"
        f"<br><b>{_e(s.name)}</b><br>{_e(s.street)}<br>{_e(s.postcode)} {_e(s.city)}<br>{_e(s.phone)}</div>"
        f"<div style='margin-top:22mm;width:75mm'>{_address(p, inv.buyer)}</div></div>"
        f"<p class='r'>{_e(s.city)}{_e(place_word)}{_e(p.date(inv.issue_date))}</p>"
        f"<div class='t'>{_e(p.label('invoice'))} {_e(_NUMBER_MARK[p.m.language])} {_e(inv.number)}</div>"
        f"<p>{_e(p.label('order'))} : {_e(inv.order_ref)}</p>{_items(p, pos=False)}"
        f"{_kv(_totals_rows(p), 'tot')}{due}<p class='small'>{_e(p.label('bank'))} — {_bank(p, ' — ')}<br>"
        f"{_vat_line(p)}<br>{_buyer_vat(p)}</p>"
    )
    return _page(p, css, body)


def saas(p: PrintedInvoice) -> str:
    """A software vendor's invoice: narrow metadata column, a headline sentence with amount and due date."""
    inv, s = p.inv, p.inv.supplier
    css = (
        "body{font-size:9.5pt}.m td:first-child{color:#666;padding-right:8mm}.head{font-size:16pt;margin:6mm 0}"
        ".items{width:100%}.items th{color:#666;font-weight:normal;text-align:left;border-bottom:1px solid #ddd}"
        ".items td{border-bottom:1px solid #f0f0f0}.tot{margin-left:auto;width:80mm;margin-top:3mm}"
        ".tot td{border-bottom:1px solid #eee}.tot tr:last-child{font-weight:bold}"
    )
    due_word = p.label("due")
    headline = (
        f"{_e(p.money(inv.total))} — {_e(due_word)} {_e(p.date(inv.due_date))}"
        if inv.due_date
        else _e(p.money(inv.total))
    )
    body = (
        f"<div style='display:flex;justify-content:space-between'><h2 style='margin:0'>{_e(p.label('invoice'))}"
        f"</h2>{_logo(p, 'hexagon', '#635bff', 34)}</div>{_kv(_meta(p)[:3], 'm')}"
        f"<div style='display:flex;gap:20mm;margin-top:5mm'><div><b>{_e(s.name)}</b><br>{_e(s.street)}<br>"
        f"{_e(s.postcode)} {_e(s.city)}<br>{_e(s.email)}<br>{_vat_line(p)}</div><div><b>{_e(p.label('bill_to'))}"
        f"</b><br>{_address(p, inv.buyer)}<br>{_buyer_vat(p)}</div></div><div class='head'>{headline}</div>"
        f"{_items(p, pos=False)}{_kv(_totals_rows(p), 'tot')}<p class='small'>{_e(p.label('bank'))}: "
        f"{_bank(p, ' · ')}</p>"
    )
    return _page(p, css, body)


#: layout name -> renderer; the names appear in the ground truth and the report.
LAYOUTS: dict[str, Callable[[PrintedInvoice], str]] = {
    "din5008": din5008,
    "banner": banner,
    "caption": caption,
    "ledger_right": ledger_right,
    "two_column": two_column,
    "hotel_folio": hotel_folio,
    "utility": utility,
    "letter_prose": letter_prose,
    "statement": statement,
    "grid_pairs": grid_pairs,
    "footer_meta": footer_meta,
    "boxed_form": boxed_form,
    "place_date": place_date,
    "saas": saas,
}


def render_html(p: PrintedInvoice, layout: str) -> str:
    """The complete HTML document of ``p`` in ``layout``."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[layout](p)
