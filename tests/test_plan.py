"""Dated scenarios for every behaviour of a dunning policy, holds included (INTERFACE.md, "A dunning policy")."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import Result

from connector import planning
from connector.config import Workspace
from connector.sync.store import Store
from connector.config.models import ContactRules
from connector.engine.plan import HOLD_KINDS, action_key
from connector.engine.schedule import schedule
from connector.sync.runner import sync_client
from connector.sync.state import CollectionsState
from tests.conftest import cli

WED = dt.date(2026, 7, 1)  # a Wednesday
POLICY = """
name = "Test"
consolidate = {consolidate}
escalation = "{escalation}"
repeat_last_every_days = 15
min_balance = "50.00"
send_time = "{send_time}"
plan_breach_step = "final"

[contact]
quiet_hours = ["20:00", "08:00"]
weekends = false
max_per_7_days = {cap}

[[steps]]
name = "courtesy"
offset_days = -5
action = "reminder"
template = "friendly"
skip_segments = ["prompt"]

[[steps]]
name = "overdue"
offset_days = 1
action = "reminder"
template = "overdue"

[[steps]]
name = "follow_up"
offset_days = 7
action = "reminder"
template = "firm"

[[steps]]
name = "call"
offset_days = 14
action = "call"
channel = "none"

[[steps]]
name = "final"
offset_days = 30
action = "final_demand"
template = "final"
"""


def days(n: int) -> dt.date:
    return WED + dt.timedelta(days=n)


class Company:
    """A csv client with one policy, whose ledger and config a scenario edits."""

    def __init__(self, workspace: Workspace, folder: Path) -> None:
        self.workspace, self.folder = workspace, folder
        self.invoices: list[tuple] = []
        self.payments: list[tuple] = []
        self.customers = ["C1", "C2"]
        self.names: dict[str, str] = {}
        self.config = ""
        self.policy = dict(consolidate="true", escalation="catch_up", send_time="09:00", cap=3)

    def invoice(self, key: str, due: dt.date, total: str = "100.00", customer: str = "C1") -> Company:
        self.invoices.append((key, customer, due - dt.timedelta(days=30), due, total))
        return self

    def pay(self, key: str, on: dt.date, amount: str, invoice: str = "", customer: str = "C1") -> Company:
        self.payments.append((key, customer, on, amount, invoice))
        return self

    def sync(self) -> None:
        self.folder.mkdir(exist_ok=True)
        (self.folder / "customers.csv").write_text("id,name,timezone\n" + "".join(
            f"{c},{self.names.get(c, f'Customer {c}')},UTC\n" for c in self.customers))
        (self.folder / "invoices.csv").write_text("id,customer_id,issue_date,due_date,total,number\n" + "".join(
            f"{i},{c},{a},{b},{t},No. {i}\n" for i, c, a, b, t in self.invoices))
        (self.folder / "payments.csv").write_text("id,customer_id,date,amount,invoice_id\n" + "".join(
            f"{p},{c},{d},{a},{i}\n" for p, c, d, a, i in self.payments))
        policies = self.workspace.config_dir / "policies"
        policies.mkdir(parents=True, exist_ok=True)
        (policies / "test.toml").write_text(POLICY.format(**self.policy))
        file = self.workspace.create_client("co", "csv", path=str(self.folder), currency="GBP", force=True)
        file.write_text(file.read_text().replace('policy = "default"', 'policy = "test"') + self.config)
        assert sync_client(self.workspace, "co").outcome == "succeeded"

    def plan(self, on: dt.date, record: bool = False):
        return planning.plan(self.workspace, "co", as_of=on, record=record)


@pytest.fixture
def co(workspace: Workspace, tmp_path: Path) -> Company:
    return Company(workspace, tmp_path / "ledger")


def steps(plan) -> dict[tuple[str, ...], str]:
    return {a.invoice_ids: a.step for a in plan.actions}


def test_pre_due_courtesy_reminder_but_not_for_prompt_payers(co: Company) -> None:
    co.invoice("I1", days(5)).sync()
    (action,) = co.plan(WED).actions
    assert (action.step, action.kind, action.channel, action.template) == ("courtesy", "reminder", "email", "friendly")
    assert "5 days before due" in action.reason
    assert action.due_at == dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)
    assert co.plan(days(-1)).actions == []  # six days before due: not reached yet
    # a prompt payer (five invoices paid on time this year) gets no courtesy reminder
    for n in range(5):
        co.invoice(f"OLD{n}", days(-200 + 30 * n)).pay(f"P{n}", days(-200 + 30 * n), "100.00", f"OLD{n}")
    co.sync()
    assert co.plan(WED).actions == []


@pytest.mark.parametrize("escalation, recorded_offsets, first, then", [
    ("catch_up", True, "overdue", "follow_up"), ("one_step_per_run", True, "overdue", "follow_up"),
    ("catch_up", False, "overdue", "follow_up"), ("one_step_per_run", False, "overdue", "follow_up")])
def test_renaming_a_step_after_it_ran_does_not_chase_the_invoice_again_from_the_start(
        co: Company, escalation: str, recorded_offsets: bool, first: str, then: str) -> None:
    """Executions name their step; a consultant who renamed the step that ran once made the invoice's history
    unknown: catch-up sent the reminder it already had again, and one step per run started over."""
    co.policy["escalation"] = escalation
    co.invoice("I1", days(-3)).sync()
    assert steps(co.plan(WED, record=True)) == {("I1",): first}
    if not recorded_offsets:
        with Store(co.workspace.store_path("co")) as store:
            store.conn.execute("UPDATE actions SET offset_days = NULL")
    policy = co.workspace.policy_file("test")
    policy.write_text(policy.read_text().replace(f'name = "{first}"', 'name = "renamed"'))
    assert co.plan(days(1)).actions == []  # nothing new: the run of WED counts as the renamed step
    assert steps(co.plan(days(6))) == {("I1",): then}  # and the chase goes on from there


def test_consolidation_one_action_per_customer_per_step(co: Company) -> None:
    co.invoice("I1", days(-3)).invoice("I2", days(-2)).invoice("I3", days(-10)).sync()
    assert steps(co.plan(WED)) == {("I1", "I2"): "overdue", ("I3",): "follow_up"}
    co.policy["consolidate"] = "false"
    co.sync()
    assert steps(co.plan(WED)) == {("I1",): "overdue", ("I2",): "overdue", ("I3",): "follow_up"}


def test_a_message_for_many_invoices_gives_their_ages_as_a_range(co: Company) -> None:
    """Fifteen ages in one line hide what a collector needs; two are read easily; a promise not kept stays."""
    for n, age in enumerate((95, 120, 400, 210)):
        co.invoice(f"I{n}", days(-age))
    co.invoice("TWO", days(-8)).invoice("TOO", days(-9)).pay("PART", days(-80), "10.00", "I1").sync()
    assert cli(co.workspace, "promise", "co", "I1", "--date", "2026-06-01", "--as-of", "2026-05-20").exit_code == 0
    why = {a.invoice_ids: a.reason for a in co.plan(WED).actions}
    # (an action's invoices come oldest due first, as a reminder lists them: not in the host's id order)
    assert why[("I2", "I3", "I1", "I0")].startswith("4 invoice(s) at step 'final' (offset 30): 95 to 400 days past "
                                                   "due; 120 days past due, promised to pay by 2026-06-01; GBP "), why
    assert why[("TOO", "TWO")].endswith("(offset 7): 9 days past due; 8 days past due"), why
    assert {a.key for a in co.plan(WED).actions} == {action_key("co", "C1", step, ids, 0) for ids, step in (
        (("I0", "I1", "I2", "I3"), "final"), (("TWO", "TOO"), "follow_up"))}  # (the keys: of the ids in any order)


def test_catch_up_jumps_to_the_step_the_age_calls_for_one_step_per_run_does_not(co: Company) -> None:
    co.invoice("I1", days(-20)).sync()
    assert steps(co.plan(WED)) == {("I1",): "call"}  # courtesy, overdue, follow_up skipped
    co.policy["escalation"] = "one_step_per_run"
    co.sync()
    # (not the courtesy reminder: "falls due soon" to an invoice 20 days past due)
    assert steps(co.plan(WED, record=True)) == {("I1",): "overdue"}
    assert co.plan(days(5)).actions == []  # follow_up comes no sooner than overdue's date + (7 − 1) days
    assert steps(co.plan(days(6), record=True)) == {("I1",): "follow_up"}


def test_a_pre_due_step_is_never_due_on_an_invoice_already_past_due(co: Company) -> None:
    """A policy whose first step after the courtesy reminder comes 5 days past due: catch-up sent "falls due
    soon" to an invoice 3 days past due."""
    co.invoice("I1", days(-3)).invoice("I2", days(4)).invoice("I3", days(0)).sync()
    policy = co.workspace.policy_file("test")
    policy.write_text(policy.read_text().replace("offset_days = 1\n", "offset_days = 5\n", 1))
    assert steps(co.plan(WED)) == {("I3", "I2"): "courtesy"}  # (due today, and due in 4 days)
    assert steps(co.plan(days(1))) == {("I2",): "courtesy"}  # I3 is now past due: it waits for day 5


def test_a_segment_brings_steps_earlier_but_never_across_the_due_date(co: Company) -> None:
    """Problem accounts get every step 7 days earlier (the default policy's override): firmer sooner once an
    invoice is past due, but the "now overdue" notice 6 days before the due date, and the firm follow-up on
    the due date itself, told the customer something untrue."""
    # C1 owes an invoice 100 days past due: a problem account
    co.invoice("OLD", days(-100)).invoice("SOON", days(3)).invoice("TODAY", WED).invoice("LATE", days(-1)).sync()
    policy = co.workspace.policy_file("test")
    policy.write_text(policy.read_text() + "\n[segments.problem]\nshift_days = -7\n")
    plan = co.plan(WED)
    assert steps(plan) == {("OLD",): "final", ("TODAY", "SOON"): "courtesy", ("LATE",): "follow_up"}
    # the call (offset 14) comes 7 days earlier: on day 7, not 14
    assert steps(co.plan(days(6)))[("LATE",)] == "call"
    # and the reason says so: "(offset 14): 7 days past due" would read as a mistake
    why = {a.invoice_ids: a.reason for a in co.plan(days(6)).actions}
    assert "'call' (offset 14, moved to 7 for problem customers): 7 days past due" in why[("LATE",)]
    courtesy = next(a.reason for a in plan.actions if a.step == "courtesy")
    assert "'courtesy' (offset -5, moved to -12 for problem customers): due today; 3 days before due" \
        in courtesy, courtesy


def test_one_step_per_run_spacing_follows_the_offsets(co: Company) -> None:
    co.policy["escalation"] = "one_step_per_run"
    co.invoice("I1", days(-1)).sync()
    co.plan(days(-6), record=True)  # courtesy on day −6 (5 days before due)
    assert steps(co.plan(WED, record=True)) == {("I1",): "overdue"}
    # follow_up (offset 7) comes no sooner than overdue's date + (7 − 1) days
    assert co.plan(days(5)).actions == []
    assert steps(co.plan(days(6))) == {("I1",): "follow_up"}


def test_repeat_of_the_last_step_every_n_days_with_a_new_key(co: Company) -> None:
    co.invoice("I1", days(-40)).sync()
    (first,) = co.plan(WED, record=True).actions
    assert (first.step, first.repeat) == ("final", 0)
    assert co.plan(days(14)).actions == []
    (again,) = co.plan(days(15)).actions
    assert (again.step, again.repeat) == ("final", 1) and again.key != first.key
    assert "repeat 1 of the last step" in again.reason


def test_keys_are_deterministic_and_do_not_depend_on_the_date(co: Company) -> None:
    co.invoice("I1", days(-3)).invoice("I2", days(-4)).sync()
    today, tomorrow = co.plan(WED), co.plan(days(1))
    assert [a.key for a in today.actions] == [a.key for a in co.plan(WED).actions]
    assert today.actions[0].key == tomorrow.actions[0].key == action_key("co", "C1", "overdue", ["I2", "I1"], 0)


def test_recorded_actions_are_not_planned_again_and_appear_in_the_log(co: Company) -> None:
    co.invoice("I1", days(-3)).sync()
    (action,) = co.plan(WED, record=True).actions
    assert co.plan(days(1)).actions == []
    co.plan(WED, record=True)  # recording the same plan twice records nothing twice
    result = cli(co.workspace, "log", "co", "--json")
    (entry,) = json.loads(result.stdout)["actions"]
    assert (entry["key"], entry["step"], entry["executed_on"], entry["source"]) == (
        action.key, "overdue", "2026-07-01", "record")
    assert (entry["customer_name"], entry["invoice_ids"], entry["invoice_numbers"]) == ("Customer C1", ["I1"], ["No. I1"])
    assert entry["recorded_by"]
    text = cli(co.workspace, "log", "co").stdout
    assert "Customer C1" in text and "No. I1" in text


@pytest.mark.parametrize("setup, reason", [
    (lambda co: cli(co.workspace, "dispute", "co", "I1", "--open", "goods damaged", "--as-of", "2026-07-01"),
     "disputed since 2026-07-01: goods damaged"),
    (lambda co: cli(co.workspace, "promise", "co", "I1", "--date", "2026-07-10", "--as-of", "2026-07-01"),
     "promised to pay by 2026-07-10"),
    (lambda co: cli(co.workspace, "payment-plan", "co", "C1", "--installment", "2026-07-15=50.00",
                    "--installment", "2026-08-15=50.00", "--as-of", "2026-06-30"), "on payment plan #1"),
])
def test_invoice_holds(co: Company, setup, reason: str) -> None:
    co.invoice("I1", days(-10)).invoice("I2", days(-10), customer="C2").sync()
    result = setup(co)
    assert result.exit_code == 0, result.output
    plan = co.plan(WED)
    assert [(h.customer_id, h.invoice_id, h.reason) for h in plan.holds] == [("C1", "I1", reason)]
    assert steps(plan) == {("I2",): "follow_up"}  # the other customer is chased as usual


def test_promise_holds_until_its_date_and_a_resolved_dispute_releases(co: Company) -> None:
    co.invoice("I1", days(-10)).pay("PART", days(5), "40.00", "I1").sync()
    assert cli(co.workspace, "promise", "co", "I1", "--date", "2026-07-10", "--as-of", "2026-07-01").exit_code == 0
    assert co.plan(days(9)).actions == []  # held through the promised day, 10 July
    (after,) = co.plan(days(10)).actions  # the collector learns why the chase resumes: paid in part
    assert "20 days past due, promised to pay by 2026-07-10; GBP 60.00 still unpaid" in after.reason
    assert cli(co.workspace, "dispute", "co", "I1", "--open", "wrong price", "--as-of", str(days(11))).exit_code == 0
    assert cli(co.workspace, "dispute", "co", "I1", "--open", "again").exit_code == 2  # one open at a time
    assert co.plan(days(11)).actions == []
    assert cli(co.workspace, "dispute", "co", "I1", "--resolve", "credit agreed", "--as-of", str(days(11))).exit_code == 0
    assert co.plan(days(11)).actions


def test_a_promise_on_an_invoice_that_owes_nothing_is_refused_a_dispute_says_so(co: Company) -> None:
    """A mistyped number once recorded a promise on a paid invoice, which held nothing, without a word."""
    co.invoice("PAID", days(-10)).invoice("OPEN", days(-10)).pay("P1", days(-5), "100.00", "PAID").sync()
    result = cli(co.workspace, "promise", "co", "No. PAID", "--date", "2026-07-10", "--as-of", "2026-07-01")
    assert result.exit_code == 2 and "invoice No. PAID (id PAID) is paid: it owes nothing" in result.output
    assert cli(co.workspace, "log", "co", "--json").stdout.count("promise to pay") == 0
    result = cli(co.workspace, "dispute", "co", "No. PAID", "--open", "charged twice")
    assert result.exit_code == 0 and "(the invoice is paid: it owes nothing now)" in result.stdout
    result = cli(co.workspace, "dispute", "co", "No. OPEN", "--open", "wrong price")
    assert result.exit_code == 0 and "owes nothing" not in result.stdout


def test_people_name_invoices_by_number_and_customers_by_name(co: Company) -> None:
    co.invoice("I1", days(-10)).invoice("I2", days(-9)).invoice("I3", days(-8), customer="C2").sync()
    result = cli(co.workspace, "dispute", "co", "No. I1", "--open", "wrong price", "--as-of", "2026-07-01")
    assert result.exit_code == 0 and "invoice No. I1 (id I1) on 2026-07-01" in result.stdout
    assert cli(co.workspace, "promise", "co", "No. I3", "--date", "2026-07-10", "--as-of", "2026-07-01").exit_code == 0
    result = cli(co.workspace, "payment-plan", "co", "Customer C1", "--installment", "2026-07-15=50.00",
                 "--invoice", "No. I2", "--as-of", "2026-07-01")
    assert result.exit_code == 0, result.output
    shown = json.loads(cli(co.workspace, "payment-plan", "co", "Customer C1", "--as-of", "2026-07-01", "--json").stdout)
    assert shown["customer_id"] == "C1" and shown["plans"][0]["invoice_ids"] == ["I2"]
    assert {(h.customer_id, h.invoice_id, h.reason.split(":")[0]) for h in co.plan(WED).holds} == {
        ("C1", "I1", "disputed since 2026-07-01"), ("C1", "I2", "on payment plan #1"),
        ("C2", "I3", "promised to pay by 2026-07-10")}
    unknown = cli(co.workspace, "dispute", "co", "No. I9", "--open", "x")
    assert unknown.exit_code == 2 and "no invoice with the id or number 'No. I9'" in unknown.output
    co.invoices.append(("I4", "C2", days(-40), days(-10), "10.00"))
    co.sync()
    ledger = co.folder / "invoices.csv"  # numbered "No. I1" too
    ledger.write_text(ledger.read_text().replace("No. I4", "No. I1"))
    assert sync_client(co.workspace, "co").outcome == "succeeded"
    ambiguous = cli(co.workspace, "promise", "co", "No. I1", "--date", "2026-07-10", "--as-of", "2026-07-01")
    assert ambiguous.exit_code == 2 and "is on 2 invoices (ids I1, I4)" in ambiguous.output


@pytest.mark.parametrize("config, reason", [
    ('\n[customers.C1]\nexclude = true\n', "excluded from collections in the client's config"),
    ('\n[customers.C1]\npause_until = "2026-07-05"\n', "paused until 2026-07-05"),
])
def test_customer_holds_from_config(co: Company, config: str, reason: str) -> None:
    co.invoice("I1", days(-10)).sync()
    co.config = config
    co.sync()
    plan = co.plan(WED)
    assert plan.actions == [] and [(h.customer_id, h.invoice_id, h.reason) for h in plan.holds] == [
        ("C1", None, reason)]


def test_pause_ends_on_its_date(co: Company) -> None:
    co.invoice("I1", days(-10))
    co.config = '\n[customers.C1]\npause_until = "2026-07-06"\n'
    co.sync()
    assert co.plan(days(4)).actions == [] and co.plan(days(5)).actions


def test_balance_below_minimum_and_covered_by_unapplied_credit(co: Company) -> None:
    co.invoice("SMALL", days(-10), "49.99").sync()
    (hold,) = co.plan(WED).holds
    assert hold.reason == "balance chased 49.99 is below the policy minimum 50.00"
    co.invoice("BIG", days(-10), "1500.00", customer="C2").pay("CASH", days(-20), "1600.00", customer="C2").sync()
    holds = {h.customer_id: h.reason for h in co.plan(WED).holds}
    assert holds["C2"] == "unapplied credit 1,600.00 covers the overdue balance 1,500.00"  # (as the reports write them)


def test_credit_that_covers_what_would_be_chased_holds_the_customer_whatever_a_disputed_invoice_owes(
        co: Company) -> None:
    """A customer holding 500.00 on account, disputing a 1,000.00 invoice and owing 300.00 undisputed was
    reminded of the 300.00: the disputed invoice counted in the balance its credit had to cover."""
    co.invoice("DISPUTED", days(-10), "1000.00").invoice("OWED", days(-10), "300.00")
    co.pay("CASH", days(-20), "500.00").sync()
    assert cli(co.workspace, "dispute", "co", "DISPUTED", "--open", "not delivered", "--as-of", str(WED)).exit_code == 0
    plan = co.plan(WED)
    assert plan.actions == []
    assert [(h.invoice_id, h.reason) for h in plan.holds] == [
        ("DISPUTED", "disputed since 2026-07-01: not delivered"),
        (None, "unapplied credit 500.00 covers the overdue balance 300.00")]


def test_no_courtesy_reminder_for_an_invoice_the_customers_credit_already_pays(co: Company) -> None:
    co.invoice("SOON", days(3), "300.00").pay("CASH", days(-20), "500.00").sync()  # due in 3 days; 500 on account
    plan = co.plan(WED)
    assert plan.actions == [] and [h.reason for h in plan.holds] == [
        "unapplied credit 500.00 covers the balance chased 300.00"]
    co.invoice("LATER", days(4), "300.00").sync()  # 600 to remind of, 500 of credit: the reminder goes
    assert [a.step for a in co.plan(WED).actions] == ["courtesy"]


def test_quiet_hours_and_weekends_defer_never_drop(co: Company) -> None:
    co.policy["send_time"] = "21:30"
    co.invoice("I1", days(-3)).sync()
    (action,) = co.plan(WED).actions
    assert action.due_at == dt.datetime(2026, 7, 2, 8, tzinfo=dt.UTC)
    assert "deferred from 2026-07-01 21:30 UTC (quiet hours)" in action.reason
    (saturday,) = co.plan(days(3)).actions  # Saturday 4 July
    assert saturday.due_at == dt.datetime(2026, 7, 6, 8, tzinfo=dt.UTC)


def test_contact_cap_defers_the_fourth_contact_in_seven_days(co: Company) -> None:
    co.policy["consolidate"] = "false"
    co.invoice("A", days(-3)).invoice("B", days(-3)).invoice("C", days(-3)).invoice("D", days(-3)).sync()
    actions = sorted(co.plan(WED).actions, key=lambda a: a.due_at)
    assert [a.due_at.date() for a in actions] == [WED, WED, WED, days(7)]
    assert "at most 3 contacts in 7 days" in actions[-1].reason
    # recorded contacts count too: the next day, everything new waits for the window
    co.plan(WED, record=True)
    co.invoice("E", days(-2)).sync()
    (later,) = [a for a in co.plan(days(1)).actions if a.invoice_ids == ("E",)]
    assert later.due_at.date() == days(7)


def test_the_contact_cap_counts_contacts_already_planned_after_the_day() -> None:
    """A plan made for a day before contacts already recorded (yesterday's missed run, made this morning after
    today's): three contacts on Thursday and one more on Wednesday would be four in 7 days."""
    rules = ContactRules(max_per_7_days=3)
    thursday = dt.datetime(2026, 7, 2, 9, tzinfo=dt.UTC)
    due_at, why = schedule(rules, dt.time(9), WED, "UTC", [thursday] * 3, is_contact=True)
    assert due_at == thursday + dt.timedelta(days=7)
    assert why == ["deferred from 2026-07-01 09:00 UTC (at most 3 contacts in 7 days)"]
    # two ahead leave room for one: it goes on its day
    assert schedule(rules, dt.time(9), WED, "UTC", [thursday] * 2, is_contact=True) == \
        (dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC), [])
    # a week and more ahead is another window
    assert schedule(rules, dt.time(9), WED, "UTC", [thursday + dt.timedelta(days=6)] * 3, is_contact=True)[0] == \
        dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)


def test_payment_plan_breach_ends_the_hold_and_schedules_the_breach_step(co: Company) -> None:
    co.invoice("I1", days(-10), "300.00").sync()
    result = cli(co.workspace, "payment-plan", "co", "C1", "--installment", "2026-07-05=100.00",
                 "--installment", "2026-07-20=200.00", "--as-of", "2026-07-01")
    assert result.exit_code == 0, result.output
    assert "GBP 0.00 paid; installments 2026-07-05 100.00, 2026-07-20 200.00" in result.stdout
    assert co.plan(days(4)).actions == []  # held, the first installment not yet due
    co.pay("PP1", days(3), "100.00", "I1").sync()
    assert co.plan(days(10)).actions == []  # first installment paid on time: still held
    (action,) = co.plan(days(20)).actions  # 20 July passed without the second installment
    assert (action.step, action.kind) == ("final", "final_demand")
    assert "payment plan #1 missed the installment of 2026-07-20" in action.reason
    co.plan(days(20), record=True)
    state = json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-21", "--json").stdout)
    assert state["plans"][0]["status"] == "breached" and state["plans"][0]["missed"]["date"] == "2026-07-20"
    text = cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-21").stdout
    # (invoices by the numbers people know them by: a Xero id is a GUID)
    assert "plan #1 (breached) for invoice(s) No. I1" in text and "missed the one of 2026-07-20 (200.00)" in text
    assert (state["plans"][0]["invoice_ids"], state["plans"][0]["invoice_numbers"]) == (["I1"], ["No. I1"])
    # each installment's standing, in the JSON and as a spreadsheet's rows
    assert [i["status"] for i in state["plans"][0]["installments"]] == ["paid", "missed"]
    rows = list(csv.DictReader(io.StringIO(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-21",
                                               "--csv").stdout)))
    assert [(r["plan_id"], r["plan_status"], r["invoice_numbers"], r["paid"], r["installment_date"],
             r["installment_amount"], r["installment_status"]) for r in rows] == [
        ("1", "breached", "No. I1", "100.00", "2026-07-05", "100.00", "paid"),
        ("1", "breached", "No. I1", "100.00", "2026-07-20", "200.00", "missed")]
    before = json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-02", "--json").stdout)
    assert [i["status"] for i in before["plans"][0]["installments"]] == ["due", "due"]
    co.pay("PP2", days(22), "200.00", "I1").sync()  # (paid late, in full: the plan completes)
    after = json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-23", "--json").stdout)
    assert (after["plans"][0]["status"], [i["status"] for i in after["plans"][0]["installments"]]) == (
        "completed", ["paid", "paid"])
    # the audit trail keeps the breach that sent the final demand when the plan completes
    co.plan(days(22), record=True)
    changes = json.loads(cli(co.workspace, "log", "co", "--json").stdout)["arrangements"]
    assert [(c["on"], c["event"]) for c in changes] == [
        ("2026-07-01", "payment plan #1 created"), ("2026-07-21", "payment plan #1 breached"),
        ("2026-07-23", "payment plan #1 completed")]
    assert [c["by"] for c in changes[1:]] == ["plan --record", "plan --record"]


def test_a_store_from_before_version_16_keeps_its_plans_recorded_breach(co: Company) -> None:
    import sqlite3

    co.invoice("I1", days(-10), "300.00").sync()
    assert cli(co.workspace, "payment-plan", "co", "C1", "--installment", "2026-07-05=100.00",
               "--as-of", "2026-07-01").exit_code == 0
    co.plan(days(6), record=True)  # (breached on 5 July)
    conn = sqlite3.connect(co.workspace.store_path("co"))
    conn.executescript("""ALTER TABLE payment_plans DROP COLUMN breached_on;
        ALTER TABLE payment_plans DROP COLUMN completed_on; DELETE FROM schema_migrations WHERE version = 16""")
    conn.commit()
    conn.close()
    changes = json.loads(cli(co.workspace, "log", "co", "--json").stdout)["arrangements"]
    assert [(c["on"], c["event"]) for c in changes][1:] == [("2026-07-07", "payment plan #1 breached")]


def test_an_installment_paid_after_it_breached_the_plan_says_so(co: Company) -> None:
    """The plan stays breached (the breach step is due), and the installment that breached it is shown paid
    late, not plain paid beside "missed the one of 5 July"."""
    co.invoice("I1", days(-10), "300.00").sync()
    assert cli(co.workspace, "payment-plan", "co", "C1", "--installment", "2026-07-05=100.00",
               "--installment", "2026-07-20=200.00", "--as-of", "2026-07-01").exit_code == 0
    co.pay("PP1", days(7), "100.00", "I1").sync()
    shown = json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-10", "--json").stdout)
    (plan,) = shown["plans"]
    assert (plan["status"], plan["missed"]["date"], [i["status"] for i in plan["installments"]]) == (
        "breached", "2026-07-05", ["paid_late", "due"])


def test_an_installment_paid_within_the_policys_grace_days_keeps_the_plan(co: Company) -> None:
    """A transfer sent on the day can arrive two days later: with no grace, the plan was breached the day
    after and the final demand went out as the money came in."""
    def sync_with_grace() -> None:  # (a sync writes the test policy afresh)
        co.sync()
        policy = co.workspace.policy_file("test")
        policy.write_text(policy.read_text().replace('plan_breach_step = "final"', 'plan_breach_step = "final"\n'
                                                                                   'plan_grace_days = 3'))

    co.invoice("I1", days(-10), "300.00")
    sync_with_grace()
    assert cli(co.workspace, "payment-plan", "co", "C1", "--installment", "2026-07-05=100.00",
               "--installment", "2026-07-20=200.00", "--as-of", "2026-07-01").exit_code == 0
    assert co.plan(days(7)).actions == []  # 8 July: the 5 July installment is within its 3 days' grace
    (breach,) = co.plan(days(8)).actions  # 9 July, nothing paid: missed
    assert "payment plan #1 missed the installment of 2026-07-05" in breach.reason
    co.pay("P1", days(6), "100.00", "I1")  # paid on 7 July, two days after its date
    sync_with_grace()
    assert co.plan(days(8)).actions == []
    state = json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-09", "--json").stdout)
    assert state["plans"][0]["status"] == "active"


def test_a_payment_plan_counts_what_is_paid_on_its_invoices_or_left_on_account_not_new_sales_paid(
        co: Company) -> None:
    """A customer on a plan for an old debt who pays a new invoice on time has paid nothing towards the plan:
    counting that payment once kept a plan 'active' (and its invoices unchased) while the debt stood still."""
    co.invoice("OLD", days(-40), "300.00").invoice("NEW", days(10), "100.00").sync()
    assert cli(co.workspace, "payment-plan", "co", "C1", "--invoice", "OLD", "--installment", "2026-07-05=100.00",
               "--installment", "2026-07-20=200.00", "--as-of", "2026-07-01").exit_code == 0
    co.pay("P-NEW", days(3), "100.00", "NEW").sync()  # the new sale, paid: not towards the plan
    (action,) = [a for a in co.plan(days(6)).actions if a.invoice_ids == ("OLD",)]
    assert "payment plan #1 missed the installment of 2026-07-05" in action.reason
    state = json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-06", "--json").stdout)
    assert (state["plans"][0]["status"], state["plans"][0]["paid"]) == ("breached", "0.00")

    co.pay("P-ACCOUNT", days(3), "100.00").sync()  # money on account, applied to nothing yet: it counts
    assert [a for a in co.plan(days(6)).actions if a.invoice_ids == ("OLD",)] == []
    state = json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-06", "--json").stdout)
    assert (state["plans"][0]["status"], state["plans"][0]["paid"]) == ("active", "100.00")


def _plan_over_a_thousand_owed(co: Company, installment: str) -> Result:
    """Agree a plan of one installment (DATE=AMOUNT) on 2026-07-01 over a single invoice owing 1,000.00."""
    co.invoice("I1", days(-10), "1000.00").sync()
    return cli(co.workspace, "payment-plan", "co", "C1", "--installment", installment, "--as-of", "2026-07-01",
               "--json")


def test_a_plan_whose_installments_do_not_add_up_to_what_is_owed_is_kept_with_a_warning(co: Company) -> None:
    """A typo (100.00 for 1,000.00) once made a plan that completed after a tenth of the debt, silently."""
    result = _plan_over_a_thousand_owed(co, "2026-07-05=100.00")
    assert result.exit_code == 0 and json.loads(result.stdout)["warnings"] == [
        "plan #1's installments add up to GBP 100.00 and its invoices owe GBP 1,000.00: it completes once the "
        "installments are paid, and the chase of what is left starts again"]
    assert "warning: plan #1's installments add up to GBP 100.00" in result.stderr
    shown = cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-01")  # (said when it is made)
    assert shown.exit_code == 0 and "warning" not in shown.stderr
    co.invoice("PAID", days(-10)).pay("P1", days(-5), "100.00", "PAID").sync()
    refused = cli(co.workspace, "payment-plan", "co", "C1", "--invoice", "No. PAID", "--installment", "2026-07-05=100.00",
                  "--as-of", "2026-07-01")  # (the invoice named by its number, as it was typed)
    assert refused.exit_code == 2 and "customer 'C1' has no open invoice(s) No. PAID (id PAID)" in refused.output


def test_a_plan_for_more_than_is_owed_says_it_completes_when_its_invoices_are_paid(co: Company) -> None:
    """Installments of 1,500.00 over 1,000.00 owed: no payment meets them, so the warning must not promise
    completion 'once the installments are paid'; paying the invoices completes the plan."""
    result = _plan_over_a_thousand_owed(co, "2026-07-05=1500.00")
    assert result.exit_code == 0 and json.loads(result.stdout)["warnings"] == [
        "plan #1's installments add up to GBP 1,500.00 and its invoices owe GBP 1,000.00: it completes once its "
        "invoices are paid, and it is breached if an installment is not met by then"]
    co.pay("PP1", days(2), "1000.00", "I1").sync()
    state = json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-06", "--json").stdout)
    assert (state["plans"][0]["status"], state["plans"][0]["paid"]) == ("completed", "1000.00")


def test_payment_plan_completion(co: Company) -> None:
    co.invoice("I1", days(-10), "100.00").sync()
    made = cli(co.workspace, "payment-plan", "co", "C1", "--installment", "2026-07-05=100.00", "--as-of", "2026-07-01")
    assert made.exit_code == 0 and "warning" not in made.stderr  # (the installments pay what is owed)
    co.pay("PP1", days(2), "100.00", "I1").sync()
    state = json.loads(cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-06", "--json").stdout)
    assert state["plans"][0]["status"] == "completed"


def test_paying_the_oldest_invoice_leaves_the_rest_at_their_own_level(co: Company) -> None:
    co.invoice("OLD", days(-35)).invoice("NEW", days(-2)).sync()
    assert steps(co.plan(WED)) == {("OLD",): "final", ("NEW",): "overdue"}
    co.plan(WED, record=True)
    co.pay("P1", days(1), "100.00", "OLD").sync()
    assert co.plan(days(8)) .actions[0].step == "follow_up"  # NEW, now 10 days late, goes on from its own step
    assert {a.invoice_ids for a in co.plan(days(8)).actions} == {("NEW",)}


def test_worklist_ranks_calls_by_amount_at_risk(co: Company) -> None:
    co.invoice("S", days(-15), "200.00").invoice("L", days(-16), "900.00", customer="C2").sync()
    plan = co.plan(WED)
    assert [(a.customer_id, a.kind, str(a.amount)) for a in plan.worklist] == [
        ("C2", "call", "900.00"), ("C1", "call", "200.00")]
    shown = cli(co.workspace, "plan", "co", "--as-of", "2026-07-01")
    assert "amount at risk (GBP)" in shown.stdout  # (every amount is in the home currency: it says which)
    assert json.loads(cli(co.workspace, "plan", "co", "--as-of", "2026-07-01", "--json").stdout)["currency"] == "GBP"
    data = json.loads(cli(co.workspace, "plan", "co", "--as-of", "2026-07-01", "--json").stdout)
    assert {"as_of", "actions", "holds"} <= set(data)
    assert {"key", "customer_id", "invoice_ids", "kind", "step", "channel", "due_at", "reason"} <= set(
        data["actions"][0])
    assert [(w["customer_name"], w["amount"]) for w in data["worklist"]] == [
        ("Customer C2", "900.00"), ("Customer C1", "200.00")]
    assert sorted((a["customer_name"], a["invoice_numbers"]) for a in data["actions"]) == [
        ("Customer C1", ["No. S"]), ("Customer C2", ["No. L"])]


def test_the_plan_for_people_names_customers_and_invoice_numbers_and_ranks_the_calls(
        co: Company, monkeypatch: pytest.MonkeyPatch) -> None:
    """Host ids (QuickBooks' numbers, Xero's GUIDs) mean nothing to a collector: the text shows names and the
    numbers printed on the invoices, and the worklist of calls, largest amount at risk first."""
    from connector.cli import common

    monkeypatch.setattr(common.out, "width", 200)  # (on a narrow terminal names wrap at their spaces)
    co.invoice("S", days(-15), "200.00").invoice("L", days(-16), "900.00", customer="C2")
    co.invoice("D", days(-3), "80.00").sync()
    assert cli(co.workspace, "dispute", "co", "D", "--open", "wrong price", "--as-of", "2026-07-01").exit_code == 0
    text = cli(co.workspace, "plan", "co", "--as-of", "2026-07-01").stdout
    actions, worklist, holds = text.split("worklist:")[0], text.split("worklist:")[1].split("holds")[0], \
        text.split("holds")[1]
    assert "Customer C1" in actions and "No. S" in actions and "Customer C2" in actions and "No. L" in actions
    assert worklist.index("Customer C2") < worklist.index("Customer C1") and "900.00" in worklist
    assert "Customer C1" in holds and "No. D" in holds and "disputed since 2026-07-01: wrong price" in holds


@pytest.mark.parametrize("installments, said", [
    (["2026-07-15=50.005"], "installment 2026-07-15=50.005: 50.005 is finer than the minor unit of GBP"),
    (["2026-07-15=-5"], "installment 2026-07-15=-5: the amount must be more than 0"),
    (["2026-07-15=0"], "the amount must be more than 0"),
    (["2026-07-15=NaN"], "the amount must be more than 0"),
    (["2026-06-15=50.00"], "is dated before the plan starts (2026-07-01)"),
    (["2026-07-15=50.00", "2026-07-15=25.00"], "installments dated 2026-07-15 twice"),
])
def test_a_mistyped_installment_is_refused_and_nothing_is_stored(co: Company, installments: list[str],
                                                                 said: str) -> None:
    """A sub-penny, negative, zero or back-dated installment once stopped the command with a traceback or
    stored a plan that was 'completed' at once, holding the customer's invoices out of the plan."""
    co.invoice("I1", days(-10), "100.00").sync()
    args = [arg for text in installments for arg in ("--installment", text)]
    result = cli(co.workspace, "payment-plan", "co", "C1", *args, "--as-of", "2026-07-01")
    assert result.exit_code == 2 and said in result.output, result.output
    shown = cli(co.workspace, "payment-plan", "co", "C1", "--as-of", "2026-07-01")
    assert "no payment plans for customer C1" in shown.stdout
    assert co.plan(WED).actions  # the invoice is still chased


def test_a_promise_dated_before_the_day_it_is_made_is_refused_and_keeps_the_one_before(co: Company) -> None:
    """The latest promise counts: a mistyped past date once replaced a real promise and, holding nothing,
    put the invoice back into the plan."""
    co.invoice("I1", days(-10)).sync()
    assert cli(co.workspace, "promise", "co", "I1", "--date", "2026-07-10", "--as-of", "2026-07-01").exit_code == 0
    past = cli(co.workspace, "promise", "co", "I1", "--date", "2026-06-20", "--as-of", "2026-07-02")
    assert past.exit_code == 2 and "the promised date 2026-06-20 is before 2026-07-02" in past.output
    assert [h.reason for h in co.plan(days(5)).holds] == ["promised to pay by 2026-07-10"]
    today = cli(co.workspace, "promise", "co", "I1", "--date", "2020-01-01")  # (--as-of: today)
    assert today.exit_code == 2 and "is before" in today.output


def test_dispute_errors_name_the_invoice_as_the_person_typed_it(co: Company) -> None:
    co.invoice("I1", days(-10)).sync()
    unresolved = cli(co.workspace, "dispute", "co", "No. I1", "--resolve", "done")
    assert unresolved.exit_code == 2 and "invoice No. I1 (id I1) has no open dispute to resolve" in unresolved.output
    assert cli(co.workspace, "dispute", "co", "No. I1", "--open", "wrong price").exit_code == 0
    twice = cli(co.workspace, "dispute", "co", "No. I1", "--open", "again")
    assert twice.exit_code == 2 and "invoice No. I1 (id I1) already has an open dispute" in twice.output


def test_recording_a_plan_for_a_day_still_to_come_is_refused(co: Company) -> None:
    """Looking ahead is for planning; recording tomorrow's actions as executed would advance levels and fill
    the log with contacts that never happened."""
    co.invoice("I1", days(-10)).sync()
    ahead = dt.date.today() + dt.timedelta(days=30)
    result = cli(co.workspace, "plan", "co", "--as-of", str(ahead), "--record")
    assert result.exit_code == 2 and "which is after today" in result.output
    assert cli(co.workspace, "plan", "co", "--as-of", str(ahead)).exit_code == 0
    assert json.loads(cli(co.workspace, "log", "co", "--json").stdout)["actions"] == []


def test_recording_a_day_before_one_already_recorded_is_refused(co: Company) -> None:
    """A missed day's plan recorded after today's: its plan does not know of today's executions (they are
    after its day), so it would record the same steps and contacts a second time."""
    co.invoice("I1", days(-3)).invoice("I2", days(-10)).sync()
    assert co.plan(days(1), record=True).actions
    result = cli(co.workspace, "plan", "co", "--as-of", str(WED), "--record")
    assert result.exit_code == 2
    assert f"actions were already recorded as executed on {days(1)}" in result.output
    assert len(json.loads(cli(co.workspace, "log", "co", "--json").stdout)["actions"]) == 2
    assert cli(co.workspace, "plan", "co", "--as-of", str(WED)).exit_code == 0  # (looking back is fine)
    assert co.plan(days(1), record=True).actions == []  # (the same day again: allowed, nothing new)
    assert len(json.loads(cli(co.workspace, "log", "co", "--json").stdout)["actions"]) == 2


def test_a_plan_for_today_from_an_old_or_failed_sync_says_so(co: Company) -> None:
    """A scheduled job's plan is only as current as the last sync that worked: a customer who paid since is
    still chased.  Nobody reads a cron job's log of a sync that failed; the plan's warnings are read."""
    co.invoice("I1", days(-10)).sync()
    co.plan(WED, record=True)  # (not a first plan: that has a warning of its own)
    today = str(dt.datetime.now(dt.UTC).date())  # (the client's today: its time zone is UTC)
    assert cli(co.workspace, "plan", "co", "--as-of", today).stderr == ""
    with Store(co.workspace.store_path("co")) as store:
        store.conn.execute("UPDATE sync_runs SET started_at = '2026-01-01T02:00:00+00:00', "
                           "ended_at = '2026-01-01T02:00:09+00:00'")
    stale = cli(co.workspace, "plan", "co", "--as-of", today)
    assert stale.exit_code == 0
    assert "'co' was last synced" in stale.stderr and "from the sync that ended 2026-01-01 02:00 UTC" in stale.stderr
    assert cli(co.workspace, "plan", "co", "--as-of", str(WED)).stderr == ""  # (a plan of a past day: no)
    (co.folder / "invoices.csv").write_text("id,customer_id,issue_date,due_date,total\nI9,C1,2026-01-01,bad,1.00\n")
    assert cli(co.workspace, "sync", "co").exit_code == 2
    failed = json.loads(cli(co.workspace, "plan", "co", "--as-of", today, "--json").stdout)["warnings"]
    assert len(failed) == 1 and failed[0].startswith("the latest sync of 'co' failed (")


def test_a_mistyped_customer_id_in_the_config_is_warned_of(co: Company) -> None:
    """`[customers."C9"] exclude = true` for a customer that is really C1 would chase C1 as if nothing were
    set: the plan says so."""
    co.invoice("I1", days(-10))
    co.config = '\n[customers.C9]\nexclude = true\n'
    co.sync()
    result = cli(co.workspace, "plan", "co", "--as-of", "2026-07-01", "--json")
    assert result.exit_code == 0
    assert '[customers."C9"] names no customer in the ledger' in result.stderr
    assert json.loads(result.stdout)["warnings"] == [w for w in co.plan(WED).warnings] and co.plan(WED).actions
    (listed,) = json.loads(cli(co.workspace, "clients", "--json").stdout)["clients"]
    assert '[customers."C9"] names no customer' in listed["warning"]  # (where a consultant checks configs)
    co.config = '\n[customers.C1]\nexclude = true\n'
    co.sync()
    assert co.plan(WED).warnings == [] and co.plan(WED).actions == []


def test_the_log_shows_who_opened_resolved_promised_and_arranged_what(co: Company) -> None:
    """Disputes, promises and payment plans hold invoices out of the plan: the audit trail says who set each
    hold, when, and on which invoices, as it does for the actions executed."""
    co.invoice("I1", days(-10)).invoice("I2", days(-9)).sync()
    assert cli(co.workspace, "dispute", "co", "No. I1", "--open", "wrong price", "--as-of", "2026-06-30").exit_code == 0
    assert cli(co.workspace, "dispute", "co", "No. I1", "--resolve", "credit agreed", "--as-of", "2026-07-01").exit_code == 0
    assert cli(co.workspace, "promise", "co", "No. I2", "--date", "2026-07-10", "--as-of", "2026-07-01").exit_code == 0
    assert cli(co.workspace, "payment-plan", "co", "C1", "--installment", "2026-07-15=200.00",
               "--as-of", "2026-07-01").exit_code == 0
    assert cli(co.workspace, "payment-plan", "co", "C1", "--cancel", "1", "--as-of", "2026-07-01").exit_code == 0
    changes = json.loads(cli(co.workspace, "log", "co", "--json").stdout)["arrangements"]
    assert [(c["event"], c["invoice_numbers"], c["detail"]) for c in changes] == [
        ("dispute opened", ["No. I1"], "wrong price"), ("dispute resolved", ["No. I1"], "credit agreed"),
        ("promise to pay", ["No. I2"], "by 2026-07-10"),
        ("payment plan #1 created", ["No. I1", "No. I2"], "starting 2026-07-01, GBP"),
        ("payment plan #1 cancelled", ["No. I1", "No. I2"], "")]
    assert all(c["by"] and c["at"] and c["customer_name"] == "Customer C1" for c in changes)
    rows = list(csv.DictReader(io.StringIO(cli(co.workspace, "log", "co", "--csv").stdout)))  # (one trail)
    assert [(r["event"], r["invoice_numbers"]) for r in rows] == [(c["event"], "; ".join(c["invoice_numbers"]))
                                                                  for c in changes]
    text = cli(co.workspace, "log", "co").stdout
    assert "disputes, promises and payment plans, oldest first" in text and {"credit", "agreed"} <= set(text.split())
    # (the day each took effect first, the instant it was recorded last, each on one line)
    assert len(re.findall(r"^ ?2026-0[67]-\d{2} .* \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC *$", text, re.MULTILINE)) == 5


def test_a_policy_of_pre_due_steps_alone_repeats_nothing_once_the_invoice_is_past_due() -> None:
    from connector.config.models import Policy
    from connector.engine.policy import Execution, due_step

    policy = Policy.model_validate({"key": "early", "file": "early.toml", "name": "Early", "repeat_last_every_days": 5,
                                    "steps": [{"name": "courtesy", "offset_days": -5, "action": "reminder",
                                               "channel": "email", "template": "friendly"}]})
    sent = [Execution("courtesy", WED - dt.timedelta(days=10), -5)]
    assert due_step(policy, "new", days(3), sent, WED).repeat == 1  # (due in 3 days: reminded again)
    assert due_step(policy, "new", days(-3), sent, WED) is None  # (3 days past due: "falls due soon" no more)


@pytest.mark.parametrize("whole_trail_up_to", [2, 0])
def test_steps_run_on_an_invoice_paid_since_still_count_in_a_plan_for_an_earlier_day(
        co: Company, whole_trail_up_to: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan reads the steps run on the invoices open on its day only, once the trail is long (a client
    chased for a year has run a million: 0 here reads so at once); an invoice paid after that day was open on
    it, and its steps count."""
    monkeypatch.setattr(CollectionsState, "whole_trail_up_to", whole_trail_up_to)
    co.invoice("I1", days(-3)).invoice("I2", days(-3)).sync()
    assert steps(co.plan(WED, record=True)) == {("I1", "I2"): "overdue"}
    co.pay("P1", days(2), "100.00", "I1").sync()
    assert steps(co.plan(days(1))) == {}  # I1 owed on day 1, and had its reminder: nothing new for either
    assert steps(co.plan(days(4))) == {("I2",): "follow_up"}  # I1 is paid by day 4


@pytest.mark.parametrize("whole_trail_up_to", [2, 0])
def test_invoices_of_one_age_chased_on_different_days_are_spaced_each_by_its_own(
        co: Company, whole_trail_up_to: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two invoices due the same day, the second's reminder later (held by a dispute meanwhile): each waits
    its own spacing (a plan works a step out once for invoices with the same history, by the runs' ages)."""
    monkeypatch.setattr(CollectionsState, "whole_trail_up_to", whole_trail_up_to)
    co.policy["escalation"] = "one_step_per_run"
    co.invoice("I1", days(-1)).invoice("I2", days(-1)).sync()
    assert cli(co.workspace, "dispute", "co", "I2", "--open", "wrong price", "--as-of", str(WED)).exit_code == 0
    assert steps(co.plan(WED, record=True)) == {("I1",): "overdue"}
    assert cli(co.workspace, "dispute", "co", "I2", "--resolve", "price agreed", "--as-of", str(days(3))).exit_code == 0
    assert steps(co.plan(days(3), record=True)) == {("I2",): "overdue"}
    assert steps(co.plan(days(6))) == {("I1",): "follow_up"}  # I2's comes no sooner than day 3 + (7 − 1)
    assert steps(co.plan(days(9))) == {("I1", "I2"): "follow_up"}


def test_the_log_shows_a_period_and_a_customer_when_asked(co: Company) -> None:
    """A client chased daily has a long trail: an accountant asks for last week's, or one customer's."""
    co.invoice("I1", days(-3)).invoice("I2", days(-3), customer="C2").invoice("I3", days(6), customer="C2").sync()
    co.plan(WED, record=True)
    co.plan(days(4), record=True)
    assert cli(co.workspace, "dispute", "co", "I2", "--open", "wrong price").exit_code == 0  # (recorded now)

    def trail(*args: str) -> tuple[list[tuple[str, str, str]], list[str]]:
        result = cli(co.workspace, "log", "co", "--json", *args)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        return ([(a["executed_on"], a["customer_id"], a["step"]) for a in data["actions"]],
                [c["event"] for c in data["arrangements"]])

    assert trail() == ([("2026-07-01", "C1", "overdue"), ("2026-07-01", "C2", "overdue"), ("2026-07-05", "C1", "follow_up"),
                        ("2026-07-05", "C2", "courtesy"), ("2026-07-05", "C2", "follow_up")], ["dispute opened"])
    assert trail("--to", "2026-07-01") == ([("2026-07-01", "C1", "overdue"), ("2026-07-01", "C2", "overdue")], [])
    assert trail("--from", "2026-07-02", "--customer", "C2") == (
        [("2026-07-05", "C2", "courtesy"), ("2026-07-05", "C2", "follow_up")], ["dispute opened"])
    assert trail("--customer", "C1")[1] == []
    assert trail("--customer", "Customer C2") == trail("--customer", "C2")  # (by name, as `payment-plan` takes it)
    unknown = cli(co.workspace, "log", "co", "--customer", "C9")
    assert unknown.exit_code == 2 and "no customer with the id or name 'C9'" in unknown.output
    backwards = cli(co.workspace, "log", "co", "--from", "2026-07-05", "--to", "2026-07-01")
    assert backwards.exit_code == 2 and "--from 2026-07-05 is after --to 2026-07-01" in backwards.output


def test_the_plans_text_gives_one_row_per_hold_reason_with_its_invoices(co: Company) -> None:
    """A payment plan over a dozen invoices is one hold to a collector, not a dozen rows; the rows come by
    customer name, as the actions do."""
    co.names = {"C1": "Zeta Ltd", "C2": "alpha & Co"}
    co.invoice("I1", days(-10)).invoice("I2", days(-9)).invoice("I3", days(-8)).invoice("I4", days(-8), customer="C2")
    co.sync()
    assert cli(co.workspace, "dispute", "co", "I3", "--open", "wrong price", "--as-of", str(WED)).exit_code == 0
    assert cli(co.workspace, "payment-plan", "co", "C1", "--installment", "2026-07-15=200.00",
               "--as-of", "2026-06-30").exit_code == 0
    assert cli(co.workspace, "promise", "co", "I4", "--date", "2026-07-20", "--as-of", "2026-06-30").exit_code == 0
    text = cli(co.workspace, "plan", "co", "--as-of", str(WED)).stdout
    rows = text[text.index("held because"):].splitlines()[1:]
    assert [" ".join(row.split()) for row in rows] == [
        "alpha & Co No. I4 promised to pay by 2026-07-20", "Zeta Ltd No. I1, No. I2 on payment plan #1",
        "Zeta Ltd No. I3 disputed since 2026-07-01: wrong price"], rows


def test_actions_come_by_time_then_customer_name_each_customers_steps_in_the_policys_order(co: Company) -> None:
    """A collector reads the plan down a list of names; a customer's overdue notice comes before its follow-up.
    Scripts get the actions by customer id, the same order every day."""
    co.names = {"C1": "Zeta Ltd", "C2": "alpha & Co"}
    co.invoice("A", days(-3)).invoice("B", days(-10)).invoice("C", days(-3), customer="C2").sync()
    plan = co.plan(WED)
    assert [(a.customer_id, a.step) for a in plan.actions] == [("C1", "overdue"), ("C1", "follow_up"), ("C2", "overdue")]
    assert [(a.customer_id, a.step) for a in plan.by_name] == [("C2", "overdue"), ("C1", "overdue"), ("C1", "follow_up")]
    text = cli(co.workspace, "plan", "co", "--as-of", str(WED)).stdout
    assert text.index("alpha & Co") < text.index("Zeta Ltd  ") and text.index(" overdue ") < text.index(" follow_up ")
    rows = list(csv.DictReader(io.StringIO(cli(co.workspace, "plan", "co", "--as-of", str(WED), "--csv").stdout)))
    assert [(r["customer_name"], r["step"]) for r in rows] == [
        ("alpha & Co", "overdue"), ("Zeta Ltd", "overdue"), ("Zeta Ltd", "follow_up")]
    assert [a["step"] for a in json.loads(cli(co.workspace, "plan", "co", "--as-of", str(WED), "--json").stdout)[
        "actions"]] == ["overdue", "follow_up", "overdue"]


def test_a_first_plan_says_how_many_customers_would_get_a_final_demand_first(co: Company) -> None:
    """Catch-up on a ledger never chased sends long-overdue invoices straight to the final demand: the plan
    warns before anyone approves it, and stops once anything has been recorded as executed."""
    co.invoice("OLD", days(-40)).invoice("NEW", days(-3), customer="C2").sync()
    first = co.plan(WED)
    assert {a.step for a in first.actions} == {"final", "overdue"}
    (warning,) = [w for w in first.warnings if "first plan" in w]
    assert "1 customer(s) get a final demand or an agency referral as their first step" in warning
    assert "one_step_per_run" in cli(co.workspace, "plan", "co", "--as-of", str(WED)).stderr
    co.plan(WED, record=True)
    assert not [w for w in co.plan(days(1)).warnings if "first plan" in w]


def test_a_first_plan_under_one_step_per_run_warns_of_nothing(co: Company) -> None:
    co.policy["escalation"] = "one_step_per_run"
    co.invoice("OLD", days(-40)).sync()
    plan = co.plan(WED)
    assert [a.step for a in plan.actions] == ["overdue"] and not [w for w in plan.warnings if "first plan" in w]


def test_each_hold_says_its_kind_for_scripts(co: Company) -> None:
    """A script that lists the disputed invoices, or the customers paused, reads `kind`, not the wording."""
    co.customers = ["C1", "C2", "C3", "C4", "C5", "C6"]
    co.invoice("D", days(-10)).invoice("P", days(-10)).invoice("PLAN", days(-10), customer="C2")
    co.invoice("X", days(-10), customer="C3").invoice("Z", days(-10), customer="C4")
    co.invoice("SMALL", days(-10), "10.00", customer="C5")
    co.invoice("COVERED", days(-10), customer="C6").pay("CASH", days(-20), "500.00", customer="C6")
    co.config = '\n[customers.C3]\nexclude = true\n[customers.C4]\npause_until = "2026-07-05"\n'
    co.sync()
    for command in (["dispute", "co", "D", "--open", "wrong price"], ["promise", "co", "P", "--date", "2026-07-10"],
                    ["payment-plan", "co", "C2", "--installment", "2026-07-15=100.00"]):
        assert cli(co.workspace, *command, "--as-of", str(WED)).exit_code == 0
    data = json.loads(cli(co.workspace, "plan", "co", "--as-of", str(WED), "--json").stdout)
    assert sorted((h["customer_id"], h["invoice_id"], h["kind"]) for h in data["holds"]) == [
        ("C1", "D", "dispute"), ("C1", "P", "promise"), ("C2", "PLAN", "payment_plan"), ("C3", None, "excluded"),
        ("C4", None, "paused"), ("C5", None, "min_balance"), ("C6", None, "credit")]
    assert {h["kind"] for h in data["holds"]} == set(HOLD_KINDS)
