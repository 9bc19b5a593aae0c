"""The inloop stakeholder console (Streamlit)."""
