"""The platform routers (one module per resource)."""
