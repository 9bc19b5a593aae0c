"""inloop demo domain: invoice_ocr."""
