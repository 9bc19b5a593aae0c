# inloop: the two commands a new user needs are `make up` and `make test`.
.PHONY: up test test-fast setup lock check bench bench-quick help

help:  ## show the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## create .venv from uv.lock (both commands below do this themselves)
	@scripts/bootstrap.sh

up: setup  ## start Dagster UI + daemon, API and console (first run creates demo data); Ctrl-C stops all
	.venv/bin/inloop up

test: setup  ## run the whole test suite (slow tests included)
	.venv/bin/python -m pytest -n 2 --dist loadfile

test-fast: setup  ## the inner-loop subset (no slow tests)
	.venv/bin/python -m pytest -n 2 --dist loadfile -m "not slow"

check: setup  ## lint, type-check, check the architecture, the project cards and the Dagster definitions
	.venv/bin/ruff check platform domains dashboards tests
	.venv/bin/mypy
	.venv/bin/lint-imports
	.venv/bin/inloop check-project
	.venv/bin/dg check defs --use-active-venv

bench: setup  ## measure the platform's costs against the bare work (full sizes; writes bench/results/)
	.venv/bin/inloop bench

bench-quick: setup  ## the same at small sizes (a few minutes)
	.venv/bin/inloop bench --quick

lock:  ## refresh uv.lock after editing a pyproject.toml (commit the result)
	uv lock
