"""The sample companies behind the sandbox, the demo and the benchmarks are ledgers as of their `today`."""

from __future__ import annotations

import datetime as dt

import pytest

from connector.records import CreditNote, Invoice, Payment
from connector.sandbox.company import CompanySpec, generate


@pytest.mark.parametrize("seed", [1, 7, 11])
def test_nothing_in_a_generated_company_is_dated_after_its_today(seed: int) -> None:
    """A credit note was once dated up to 20 days after its invoice even when that was after today, so the
    demo's `clients` open balance (which counts what is dated ahead) and its aging as of today differed."""
    today = dt.date(2026, 11, 29)
    records = list(generate(CompanySpec(seed=seed, invoices=2000, today=today)))
    dates = [r.issue_date if isinstance(r, Invoice) else r.date for r in records
             if isinstance(r, (Invoice, Payment, CreditNote))]
    assert sum(isinstance(r, CreditNote) for r in records) > 20  # (there are credit notes to date)
    assert max(dates) <= today
