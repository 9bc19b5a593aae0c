"""The inloop HTTP API (FastAPI): the domains' models, intake, bug reports, replay, health.

``create_app()`` (in :mod:`inloop.api.app`) builds the app; ``inloop serve`` and ``inloop up``
run it under uvicorn. Domains add their routers through ``DomainPlugin.api``.
"""
