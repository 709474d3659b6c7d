"""Reminder templates: every tone the default policy names renders for every kind of customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from connector.config import Workspace
from connector.documents.templates import KINDS, customer_kind, environment, render

CONTEXT = {"sender_name": "Acme Ltd", "customer_name": "O'Brien & Sons", "currency": "GBP", "total": "350.50",
           "invoices": [{"invoice_id": "I1", "number": "1001", "due_date": dt.date(2026, 6, 1),
                         "days_past_due": 30, "currency": "GBP", "balance": "350.50"}]}


@pytest.mark.parametrize("kind", KINDS)
def test_every_template_of_the_default_policy_renders(workspace: Workspace, kind: str) -> None:
    tones = {s.template for s in workspace.load_policy("default").steps if s.template}
    assert tones == {"friendly", "overdue", "firm", "final"}
    for tone in tones:
        message = render(environment(), tone, kind, CONTEXT)
        assert "O'Brien & Sons" in message.body and "1001" in message.body and "350.50" in message.body
        assert message.subject and "\n" not in message.subject


def test_each_tone_of_the_default_policy_speaks_to_each_kind_of_customer(workspace: Workspace) -> None:
    """A new customer's first reminder explains, a large account's asks for a date, a problem account's is
    blunt: every tone has its own text for new, large and problem customers, and regular ones get the tone's
    own."""
    tones = {s.template for s in workspace.load_policy("default").steps if s.template}
    for tone in tones:
        texts = {kind: render(environment(), tone, kind, CONTEXT) for kind in KINDS}
        assert texts["regular"].template == f"{tone}.txt.j2"
        assert {kind: m.template for kind, m in texts.items() if kind != "regular"} == {
            kind: f"{tone}.{kind}.txt.j2" for kind in ("new", "large", "problem")}
        assert len({m.body for m in texts.values()}) == 4, tone  # (four texts, none a copy of another)


def test_the_most_specific_template_wins_and_a_practice_can_override(tmp_path: Path) -> None:
    assert render(environment(), "overdue", "problem", CONTEXT).template == "overdue.problem.txt.j2"
    assert render(environment(), "overdue", "regular", CONTEXT).template == "overdue.txt.j2"
    own = tmp_path / "templates" / "mail"
    own.mkdir(parents=True)
    (own / "overdue.txt.j2").write_text("Subject: Pay up {{ customer_name }}\nThanks\n")
    message = render(environment(tmp_path), "overdue", "regular", CONTEXT)
    assert (message.subject, message.body) == ("Pay up O'Brien & Sons", "Thanks\n")


def test_customer_kind() -> None:
    assert customer_kind("problem", Decimal("5")) == "problem"
    assert customer_kind("prompt", Decimal("25000")) == "large"
    assert customer_kind("occasionally_late", Decimal("100")) == "regular"


def test_a_missing_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(Exception, match="customer_name"):
        render(environment(), "overdue", "regular", {k: v for k, v in CONTEXT.items() if k != "customer_name"})
