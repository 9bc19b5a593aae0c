"""The worst-case demos tell true stories: each passes only if every claim held."""

from __future__ import annotations

import pytest

from inloop.demos import run_demo
from invoice_ocr.demos import DEMOS


def _run(demo_id: str) -> None:
    result = run_demo(DEMOS[demo_id])
    failed = [s.title for s in result.failed_claims]
    assert result.passed, f"{demo_id}: error={result.error} failed claims={failed}"
    assert len(result.steps) >= 5


def test_corrupted_file() -> None:
    _run("corrupted-file")


@pytest.mark.slow
def test_erp_down() -> None:
    _run("erp-down")


@pytest.mark.slow
def test_sent_twice() -> None:
    _run("sent-twice")


@pytest.mark.slow
def test_changed_bank_details() -> None:
    _run("changed-bank-details")


@pytest.mark.slow
def test_crash_mid_batch() -> None:
    _run("crash-mid-batch")


def test_every_demo_named_in_the_card_is_registered() -> None:
    from inloop.domains import get_domain

    card = get_domain("invoice_ocr").card()
    assert {c.demo for c in card.concerns if c.demo} <= set(DEMOS)
