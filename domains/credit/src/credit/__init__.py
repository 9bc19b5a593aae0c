"""inloop demo domain: credit."""
