"""The recommender's pure logic: the synthetic shop, the page components, training and evaluation.

No Dagster, FastAPI or Streamlit here; ``recommender.defs`` wraps these functions as assets.
"""
