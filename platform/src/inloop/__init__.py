"""inloop: the MLOps platform that keeps stakeholders in the loop."""
