"""Dagster assets, checks, sensors and resources of invoice_ocr (thin: the logic is in ``lib``)."""
