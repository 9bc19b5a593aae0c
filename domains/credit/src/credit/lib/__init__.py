"""The credit domain's ML logic as plain functions (no Dagster, FastAPI or Streamlit imports)."""
