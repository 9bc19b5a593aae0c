"""Alembic environment for the invoice erp (configured in code by invoice_ocr.lib.database)."""

from __future__ import annotations

from alembic import context

from invoice_ocr.lib.database import make_engine
from invoice_ocr.lib.tables import ERP_METADATA

VERSION_TABLE = "invoice_erp_alembic_version"

url = context.config.get_main_option("sqlalchemy.url") or ""
if context.is_offline_mode():
    context.configure(url=url, target_metadata=ERP_METADATA, literal_binds=True, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()
else:
    eng = make_engine(url, pooled=False)
    with eng.connect() as connection:
        context.configure(connection=connection, target_metadata=ERP_METADATA, version_table=VERSION_TABLE,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    eng.dispose()
