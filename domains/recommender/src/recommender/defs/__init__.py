"""The recommender's Dagster assets and checks (thin wrappers over ``recommender.lib``)."""
