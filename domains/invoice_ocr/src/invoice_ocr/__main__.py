"""``python -m invoice_ocr``: the domain's command line (see :mod:`invoice_ocr.commands`)."""

from invoice_ocr.commands import app

if __name__ == "__main__":
    app()
