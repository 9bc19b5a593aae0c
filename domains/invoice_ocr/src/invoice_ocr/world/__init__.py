"""An evaluation set that looks like the world: invoices the reader was not built from.

Kept apart from the domain's processing core on purpose: nothing here is imported by the reader,
and nothing here imports the reader's extraction code. The modules, in the order a document is made:

- :mod:`invoice_ocr.world.conventions` — what differs by language and country: labels, month
  names, date orders, decimal notations, currency placement, VAT words, VAT ids and IBANs.
- :mod:`invoice_ocr.world.content` — one seeded invoice (supplier, buyer, lines, totals) and its
  ground truth.
- :mod:`invoice_ocr.world.layouts` — the HTML layouts (labels left, right, above, below and in
  running text; tables and key-value blocks; header and footer metadata; logos drawn as shapes).
- :mod:`invoice_ocr.world.printing` — HTML to PDF through headless Chromium, and PDFs to scans.
- :mod:`invoice_ocr.world.einvoices` — EN 16931 e-invoices: Factur-X/ZUGFeRD PDFs, XRechnung
  UBL and CII files, made with the standards' libraries.
- :mod:`invoice_ocr.world.build` — the seeded plan of the whole set and the writer
  (``python -m invoice_ocr.world``).
- :mod:`invoice_ocr.world.examination` — reading the set through the reader and scoring it
  (``python -m invoice_ocr.evaluate world``).
"""
