"""Disputes, promises and payment plans take effect on the day a person gives (`--as-of`, default today): a
plan or report as of an earlier day holds what was held on that day, as its balances are those of that day."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import Result

from connector import reports
from connector.config import Workspace
from connector.sync.store import Store
from tests.conftest import cli
from tests.test_plan import WED, Company, days, steps


@pytest.fixture
def co(workspace: Workspace, tmp_path: Path) -> Company:
    return Company(workspace, tmp_path / "ledger")


def held(co: Company, on: dt.date) -> dict[str, str]:
    return {str(h.invoice_id): h.reason for h in co.plan(on).holds}


def test_a_dispute_holds_the_days_from_when_it_was_raised_until_it_was_resolved(co: Company) -> None:
    co.invoice("I1", days(-10)).invoice("I2", days(-10)).sync()
    assert cli(co.workspace, "dispute", "co", "I1", "--open", "wrong price", "--as-of", str(days(2))).exit_code == 0
    assert held(co, days(1)) == {}  # (the day before it was raised: chased with I2)
    assert steps(co.plan(days(1))) == {("I1", "I2"): "follow_up"}
    assert held(co, days(2)) == {"I1": "disputed since 2026-07-03: wrong price"}
    # (open still: it holds every day after)
    assert held(co, days(30)) == {"I1": "disputed since 2026-07-03: wrong price"}
    resolved = cli(co.workspace, "dispute", "co", "I1", "--resolve", "credit agreed", "--as-of", str(days(5)))
    assert resolved.exit_code == 0 and "resolved on 2026-07-06" in resolved.stdout
    assert [held(co, days(n)) for n in (1, 2, 4, 5)] == [{}, {"I1": "disputed since 2026-07-03: wrong price"},
                                                         {"I1": "disputed since 2026-07-03: wrong price"}, {}]
    # the aging's column of what is in dispute, and the segments' and forecast's, read the same day's
    disputed = {day: reports.aging(co.workspace, "co", as_of=day).disputed for day in (days(1), days(3))}
    assert {day: str(amount) for day, amount in disputed.items()} == {days(1): "0.00", days(3): "100.00"}
    basis = {day: {e.invoice_id: e.basis for e in reports.forecast(co.workspace, "co", as_of=day).invoices}
             for day in (days(3), days(5))}
    assert (basis[days(3)]["I1"], basis[days(5)]["I1"]) == ("disputed", basis[days(5)]["I2"])
    # raised again later: not before the first was resolved, which would make two at once
    early = cli(co.workspace, "dispute", "co", "I1", "--open", "still wrong", "--as-of", str(days(4)))
    assert early.exit_code == 2
    assert "had a dispute until 2026-07-06: a new one opens on that day or later" in early.output
    assert cli(co.workspace, "dispute", "co", "I1", "--open", "still wrong", "--as-of", str(days(8))).exit_code == 0
    assert [held(co, days(n)) for n in (3, 6, 8)] == [
        {"I1": "disputed since 2026-07-03: wrong price"}, {}, {"I1": "disputed since 2026-07-09: still wrong"}]
    backwards = cli(co.workspace, "dispute", "co", "No. I1", "--resolve", "done", "--as-of", str(days(7)))  # (as typed)
    assert backwards.exit_code == 2 and ("the dispute on invoice No. I1 (id I1) was opened on 2026-07-09: it cannot be "
                                         "resolved on 2026-07-08") in backwards.output


def test_a_missed_day_recorded_late_chases_what_that_day_did_not_hold_and_it_is_not_sent_again(co: Company) -> None:
    """The collector records a dispute raised on Friday, then records Thursday's plan, which the nightly job
    missed.  On Thursday the invoice was chased: Thursday's step is recorded, and once the dispute is
    resolved the invoice is not sent Thursday's step a second time."""
    co.invoice("I1", days(-6)).sync()
    co.plan(WED, record=True)  # the overdue notice
    assert cli(co.workspace, "dispute", "co", "I1", "--open", "not delivered", "--as-of", str(days(2))).exit_code == 0
    assert steps(co.plan(days(1), record=True)) == {("I1",): "follow_up"}  # (7 days past due on Thursday)
    assert co.plan(days(2), record=True).actions == []
    assert cli(co.workspace, "dispute", "co", "I1", "--resolve", "delivery note found", "--as-of",
               str(days(6))).exit_code == 0
    assert co.plan(days(6)).actions == []  # (the call comes at 14 days: no second follow-up)
    assert steps(co.plan(days(8))) == {("I1",): "call"}


def test_a_promise_holds_from_the_day_it_was_made_the_latest_made_by_then_counting(co: Company) -> None:
    co.invoice("I1", days(-10)).sync()
    made = cli(co.workspace, "promise", "co", "I1", "--date", str(days(10)), "--as-of", str(days(3)))
    assert made.exit_code == 0
    assert "the invoice is held out of the plan for 8 day(s), through 2026-07-11" in made.stdout  # (3rd to 11th)
    assert [held(co, days(n)) for n in (2, 3, 10, 11)] == [
        {}, {"I1": "promised to pay by 2026-07-11"}, {"I1": "promised to pay by 2026-07-11"}, {}]
    # a second promise, made later, counts from its own day; the first still holds the days before it
    assert cli(co.workspace, "promise", "co", "I1", "--date", str(days(20)), "--as-of", str(days(6))).exit_code == 0
    assert [held(co, days(n)) for n in (5, 11, 20)] == [
        {"I1": "promised to pay by 2026-07-11"}, {"I1": "promised to pay by 2026-07-21"},
        {"I1": "promised to pay by 2026-07-21"}]


def test_a_payment_plan_holds_from_the_day_it_was_agreed_until_the_day_it_was_cancelled(co: Company) -> None:
    co.invoice("I1", days(-10)).sync()
    made = cli(co.workspace, "payment-plan", "co", "C1", "--installment", f"{days(30)}=100.00", "--as-of", str(days(2)))
    assert made.exit_code == 0, made.output
    assert [held(co, days(n)) for n in (1, 2)] == [{}, {"I1": "on payment plan #1"}]
    early = cli(co.workspace, "payment-plan", "co", "C1", "--cancel", "1", "--as-of", str(days(1)))
    assert early.exit_code == 2 and "starts on 2026-07-03: it cannot be cancelled on 2026-07-02" in early.output
    assert cli(co.workspace, "payment-plan", "co", "C1", "--cancel", "1", "--as-of", str(days(5))).exit_code == 0
    assert [held(co, days(n)) for n in (1, 4, 5)] == [{}, {"I1": "on payment plan #1"}, {}]
    shown = {day: json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", str(day), "--json").stdout)
             for day in (days(1), days(4), days(5))}
    assert [[p["status"] for p in shown[day]["plans"]] for day in shown] == [[], ["active"], ["cancelled"]]
    assert [i["status"] for i in shown[days(5)]["plans"][0]["installments"]] == ["cancelled"]


def test_a_second_plan_over_an_active_plans_invoices_is_refused_unless_it_replaces_it(co: Company) -> None:
    """Two active plans over one invoice would each count the same payments: a new plan first cancels the old
    one, in the same command; and a mistyped plan number never cancels another customer's plan."""
    co.invoice("I1", days(-10)).invoice("I2", days(-10)).invoice("I3", days(-10), customer="C2").sync()

    def plan(*args: str, on: dt.date = days(0)) -> Result:
        return cli(co.workspace, "payment-plan", "co", *args, "--as-of", str(on))

    assert plan("C1", "--installment", f"{days(30)}=200.00").exit_code == 0
    twice = plan("C1", "--installment", f"{days(40)}=100.00", "--invoice", "I2")
    assert twice.exit_code == 2
    assert "invoice(s) No. I2 (id I2) are already in payment plan #1, which is active" in twice.output
    assert "--cancel 1" in twice.output
    other = plan("C2", "--installment", f"{days(30)}=100.00")
    assert other.exit_code == 0, other.output  # (plan #2, of C2)
    wrong = plan("C1", "--installment", f"{days(40)}=200.00", "--cancel", "2")
    assert wrong.exit_code == 2 and "payment plan #2 is not customer 'C1's (it is 'C2's)" in wrong.output
    replaced = plan("C1", "--installment", f"{days(20)}=100.00", "--installment", f"{days(50)}=100.00", "--cancel", "1")
    assert replaced.exit_code == 0, replaced.output
    shown = json.loads(plan("C1", "--json").stdout)["plans"]
    assert [(p["plan_id"], p["status"]) for p in shown] == [(1, "cancelled"), (3, "active")]
    assert held(co, days(0)) == {"I1": "on payment plan #3", "I2": "on payment plan #3", "I3": "on payment plan #2"}
    # a refused replacement changes nothing: plan #3 stays active, and nothing is cancelled
    late = plan("C1", "--installment", f"{days(60)}=200.00", "--cancel", "3", on=days(-1))
    assert late.exit_code == 2 and "it cannot be cancelled on 2026-06-30" in late.output
    shown = json.loads(plan("C1", "--json").stdout)["plans"]
    assert [(p["plan_id"], p["status"]) for p in shown] == [(1, "cancelled"), (3, "active")]


@pytest.mark.parametrize("command", [
    ["dispute", "co", "I1", "--open", "wrong price"], ["promise", "co", "I1", "--date", "2099-01-10"],
    ["payment-plan", "co", "C1", "--installment", "2099-02-01=100.00"]])
def test_a_day_still_to_come_is_refused_and_nothing_is_recorded(co: Company, command: list[str]) -> None:
    """A hold dated tomorrow would not hold today's plan, which reads as if it were lost."""
    co.invoice("I1", days(-10)).sync()
    tomorrow = dt.date.today() + dt.timedelta(days=2)  # (after today in any time zone)
    refused = cli(co.workspace, *command, "--as-of", str(tomorrow))
    assert refused.exit_code == 2 and f"--as-of {tomorrow} is after today" in refused.output
    assert json.loads(cli(co.workspace, "log", "co", "--json").stdout)["arrangements"] == []


def test_a_store_from_before_version_15_dates_its_holds_by_when_they_were_recorded(co: Company) -> None:
    co.invoice("I1", days(-10)).invoice("I2", days(-10)).sync()
    assert cli(co.workspace, "dispute", "co", "I1", "--open", "wrong price").exit_code == 0
    assert cli(co.workspace, "promise", "co", "I2", "--date", "2099-01-01").exit_code == 0
    path = co.workspace.store_path("co")
    conn = sqlite3.connect(path)
    conn.executescript("""
        UPDATE disputes SET opened_at = '2026-07-03T10:00:00.000000+00:00';
        UPDATE promises SET recorded_at = '2026-07-04T10:00:00.000000+00:00';
        ALTER TABLE disputes DROP COLUMN opened_on; ALTER TABLE disputes DROP COLUMN resolved_on;
        ALTER TABLE promises DROP COLUMN made_on; ALTER TABLE payment_plans DROP COLUMN cancelled_on;
        DELETE FROM schema_migrations WHERE version = 15""")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.schema_version >= 15
    assert [held(co, days(n)) for n in (1, 2, 3)] == [
        {}, {"I1": "disputed since 2026-07-03: wrong price"},
        {"I1": "disputed since 2026-07-03: wrong price", "I2": "promised to pay by 2099-01-01"}]


def test_a_plan_for_an_earlier_day_does_not_count_contacts_recorded_for_later_days(co: Company) -> None:
    """The cap counts contacts in any 7 days: a reminder recorded on Thursday would push Wednesday's plan,
    looked at again, a week on.  Wednesday's plan is Wednesday's, whatever was recorded since."""
    co.policy["cap"] = 1
    co.invoice("I1", days(-2)).sync()
    before = co.plan(WED).actions
    assert [(a.step, a.due_at) for a in before] == [("overdue", dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC))]
    co.plan(days(1), record=True)
    assert co.plan(WED).actions == before
