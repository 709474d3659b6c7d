"""Six weeks of daily `plan --record` on a generated company under the default policy, as a client whose
actions are carried out outside the product would run it: the promises an accountant relies on hold on every
day, while invoices fall due, get paid and climb the ladder.

- no invoice gets the same step (and repeat) twice, and its steps come in the policy's order;
- nothing is chased that was not owed that day, nor before its step was reached, nor with a step whose
  message would be untrue (a pre-due reminder on an invoice past due, an overdue notice before the due date);
- no customer is contacted more than `max_per_7_days` times in any 7 days, nor in quiet hours or at weekends
  in its own time zone;
- the plan is the same whether the steps run so far are read whole or from the invoices open that day;
- one step per run (the policy's other escalation) skips no step (but the courtesy reminder prompt payers
  skip), and leaves between two steps at least the days between their offsets.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connector import planning
from connector.config import Workspace
from connector.config.models import Policy
from connector.engine import inputs
from connector.engine.plan import CONTACT_KINDS, Plan
from connector.engine.policy import Execution, Ladder, _due_step
from connector.sync.runner import sync_client
from connector.sync.state import CollectionsState
from connector.sync.store import Store
from tests.conftest import make_company

START, DAYS = dt.date(2026, 4, 27), 42  # the six weeks before the generated company's today (2026-06-30)


@pytest.mark.parametrize("escalation", ["catch_up", "one_step_per_run"])
def test_six_weeks_of_daily_plans_keep_every_promise(workspace: Workspace, tmp_path: Path, escalation: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    workspace.create_client("co", "csv", path=str(make_company(tmp_path / "ledger", 2_000, seed=8)), currency="GBP")
    default = workspace.policy_file("default")
    default.write_text(default.read_text(encoding="utf-8").replace(
        'escalation = "catch_up"', f'escalation = "{escalation}"', 1), encoding="utf-8")
    assert sync_client(workspace, "co").outcome == "succeeded"
    config = workspace.load_client("co")
    policy: Policy = workspace.load_policy(config.policy)
    assert policy.escalation == escalation
    offsets = {step.name: step.offset_days for step in policy.steps}
    order = [step.name for step in policy.steps]
    shift = min([0, *(s.shift_days for s in policy.segments.values())])  # (the earliest a segment may bring a step)
    executed: dict[str, list[tuple[dt.date, str, int]]] = defaultdict(list)
    contacts: dict[str, list[dt.datetime]] = defaultdict(list)
    with Store(workspace.store_path("co")) as store:
        zones = {key: info.timezone or config.timezone for key, info in inputs.customers(store).items()}
        for n in range(DAYS):
            day = START + dt.timedelta(days=n)
            owed = {item.invoice_id: item for item in inputs.open_items(store, day)}
            # the same plan whether the steps run so far are read whole or from the invoices open that day
            monkeypatch.setattr(CollectionsState, "whole_trail_up_to", 0)
            from_open = planning.plan(workspace, "co", as_of=day)
            monkeypatch.undo()
            assert_each_invoice_at_the_step_the_policy_gives(from_open, owed, CollectionsState(store).executions(day))
            plan = planning.plan(workspace, "co", as_of=day, record=True)
            assert (from_open.actions, from_open.holds) == (plan.actions, plan.holds), day
            for action in plan.actions:
                for invoice_id in action.invoice_ids:
                    item = owed.get(invoice_id)
                    assert item is not None, f"{day}: {action.step} for {invoice_id}, which owed nothing"
                    late = (day - item.due_date).days
                    assert late >= offsets[action.step] + shift, (day, action)
                    # what the message says is true: "due soon" before the due date, "overdue" after it
                    assert late <= 0 if offsets[action.step] < 0 else late >= min(offsets[action.step], 1), \
                        (day, action)
                    executed[invoice_id].append((day, action.step, action.repeat))
                if action.kind in CONTACT_KINDS and action.channel != "none" or action.kind == "call":
                    contacts[action.customer_id].append(action.due_at)
                    local = action.due_at.astimezone(ZoneInfo(zones[action.customer_id]))
                    assert local.weekday() < 5 and dt.time(8) <= local.time() < dt.time(20), (local, action)
    assert sum(map(len, executed.values())) > 300  # (the six weeks did chase: the checks above are not idle)
    for invoice_id, runs in executed.items():
        steps = [(step, repeat) for _, step, repeat in runs]
        assert len(steps) == len(set(steps)), (invoice_id, runs)
        ranks = [order.index(step) for step, _ in steps]
        assert ranks == sorted(ranks), (invoice_id, runs)
        if escalation == "one_step_per_run":
            assert ranks[0] <= 1 and all(b - a <= 1 for a, b in zip(ranks, ranks[1:])), (invoice_id, runs)
            for (on, step, _), (later_on, later_step, _) in zip(runs, runs[1:]):
                assert (later_on - on).days >= offsets[later_step] - offsets[step], (invoice_id, runs)
    for customer_id, times in contacts.items():
        times.sort()
        for t in times:
            within = [u for u in times if t - dt.timedelta(days=7) < u <= t]
            assert len(within) <= policy.contact.max_per_7_days, (customer_id, t, within)


def assert_each_invoice_at_the_step_the_policy_gives(plan: Plan, owed: dict[str, inputs.OpenItem],
                                                     history: dict[str, list[tuple[str, dt.date, int | None]]]) -> None:
    """Every invoice not held is in the plan at the step (and repeat) the policy's rule gives it, worked out
    afresh for it alone, without the caches a plan shares between invoices of one age or one history (and
    none that the rule gives no step)."""
    held = {h.invoice_id or h.customer_id for h in plan.holds}
    planned = {i: (a.step, a.repeat) for a in plan.actions for i in a.invoice_ids}
    checked = 0
    for item in owed.values():
        context = plan.customers.get(item.customer_id)
        if context is None or item.customer_id in held or item.invoice_id in held:
            continue
        runs = [Execution(*run) for run in history.get(item.invoice_id, [])]
        found = _due_step(context.policy, Ladder.of(context.policy, context.segment), (plan.as_of - item.due_date).days,
                          runs, plan.as_of)
        assert planned.get(item.invoice_id) == (found and (found.step.name, found.repeat)), (plan.as_of, item, runs)
        checked += 1
    assert checked > 100, checked  # (most open invoices are not held)
