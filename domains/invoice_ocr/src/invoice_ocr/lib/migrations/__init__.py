"""Alembic histories of the invoice ledger (``ledger/``) and of the ERP stand-in (``erp/``)."""
