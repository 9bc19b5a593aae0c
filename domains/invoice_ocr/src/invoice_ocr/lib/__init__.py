"""Pure invoice logic (no Dagster, FastAPI or Streamlit): data, OCR, extraction, ledger, booking."""
