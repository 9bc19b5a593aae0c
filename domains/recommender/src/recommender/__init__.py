"""inloop demo domain: recommender."""
