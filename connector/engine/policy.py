"""Which dunning step is due for one invoice on one date: the meaning of a policy (the README, "A dunning policy").

For an invoice D days past due (negative before its due date), with its segment's `shift_days` S:
- a step is *reached* when D ≥ offset + S, except that S never moves a step across the due date (see
  `reached_at`); steps whose `skip_segments` name the customer's segment do not exist for it;
- a step before the due date (negative offset: a courtesy reminder that the invoice falls due soon) is for
  invoices not yet due: once an invoice is past due (D > 0) it is never due, in either mode.  Otherwise one
  step per run would start every invoice found overdue (all of them, the first time a ledger is chased) with
  "due soon", and catch-up would do the same where a policy leaves a gap after its pre-due steps;
- `catch_up`: the due step is the highest reached step after the last executed one (skipping the lower
  ones not yet run); `one_step_per_run`: the step right after the last executed one, once reached and no
  sooner than the previous step's execution date plus the difference of their offsets;
- after the last step has run on date E, it is due again on E + N, E + 2N, … (`repeat_last_every_days`);
  the repeat count is how many times it has run;
- a step executed under a name the policy no longer has (renamed or removed since) counts as the highest
  step whose offset is at most the executed step's (recorded with it), or, for one recorded before offsets
  were, the highest step the invoice's age then reached: a renamed step must not start the invoice's chase
  again, sending a reminder it already had or a pre-due courtesy note on an invoice long overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from connector.config.models import Policy, Step


class Execution(NamedTuple):
    """A step executed on an invoice (recorded by push or by `plan --record`); a named tuple: a plan reads
    one per step run on each open invoice, a hundred thousand of them."""

    step: str
    on: dt.date
    offset_days: int | None = None  # the step's offset when it ran (None: recorded before offsets were)


@dataclass(frozen=True)
class DueStep:
    step: Step
    repeat: int  # 0 the first time; n for the n-th repeat of the last step
    days_past_due: int


def applicable_steps(policy: Policy, segment: str) -> list[Step]:
    """The policy's steps as they apply to a customer of this segment."""
    return [step for step in policy.steps if segment not in step.skip_segments]


@dataclass(frozen=True)
class Ladder:
    """A policy's steps as they apply to one segment, with their names and the days past due at which each
    is reached (`reach`, the segment's shift applied): the same for every invoice of every customer in that
    segment, so a plan works it out once for them."""

    steps: tuple[Step, ...]
    names: tuple[str, ...]
    reach: tuple[int, ...]
    # The step due for an invoice nothing has been executed on yet depends only on its days past due
    # (most invoices of a plan): kept here by days, for the other invoices of the segment.
    unexecuted: dict[int, DueStep | None] = field(default_factory=dict, compare=False, hash=False)
    executed: dict[tuple[object, ...], DueStep | None] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, policy: Policy, segment: str) -> Ladder:
        steps = tuple(applicable_steps(policy, segment))
        shift = policy.segments[segment].shift_days if segment in policy.segments else 0
        return cls(steps, tuple(step.name for step in steps), tuple(reached_at(step, shift) for step in steps))


def reached_at(step: Step, shift: int) -> int:
    """The days past due at which `step` is reached for a segment shifted by `shift` days.

    A shift never moves a step across the due date: a step for invoices past due (offset 1 or more) is reached
    on day 1 at the earliest, and one on the due date (offset 0) on the due date at the earliest.  The default
    policy brings every step 7 days earlier for problem accounts; without this its "now overdue" notice went
    out 6 days before the due date.  Their firmer steps still come earlier: catch-up may go straight to one
    on day 1.
    """
    at = step.offset_days + shift
    return max(at, min(step.offset_days, 1)) if step.offset_days >= 0 else at


def due_step(policy: Policy, segment: str, due_date: dt.date, history: Sequence[Execution],
             as_of: dt.date, ladder: Ladder | None = None) -> DueStep | None:
    """The step due for an invoice today, or None.  `ladder`: `Ladder.of(policy, segment)`, if at hand."""
    found = ladder or Ladder.of(policy, segment)
    days = (as_of - due_date).days
    if not history:
        if days not in found.unexecuted:
            found.unexecuted[days] = _due_step(policy, found, days, history, as_of)
        return found.unexecuted[days]
    # The answer depends on the history only through each run's step, offset and age (days before `as_of`):
    # invoices of the same age chased on the same days, most of a plan in a client chased daily, share it.
    key = (days, *[(run.step, (as_of - run.on).days, run.offset_days) for run in history])
    if key not in found.executed:
        found.executed[key] = _due_step(policy, found, days, history, as_of)
    return found.executed[key]


def _due_step(policy: Policy, ladder: Ladder, days: int, history: Sequence[Execution],
              as_of: dt.date) -> DueStep | None:
    steps, names = ladder.steps, ladder.names
    if not steps:
        return None
    reached = [i for i, (step, at) in enumerate(zip(steps, ladder.reach)) if days >= at and not _past(step, days)]
    done = [(names.index(e.step), e.on) if e.step in names else _counted_as(ladder, days, as_of, e)
            for e in history]
    last, last_on = max((d for d in done if d[0] >= 0), default=(-1, None))
    if last == len(steps) - 1:
        if _past(steps[-1], days):
            return None  # (a policy of pre-due steps alone: nothing to repeat once the invoice is past due)
        return _repeat(policy, steps[-1], [on for i, on in done if i == last], as_of, days)
    if policy.escalation == "catch_up":
        candidates = [i for i in reached if i > last]
        return DueStep(steps[max(candidates)], 0, days) if candidates else None
    following = last + 1
    while following < len(steps) and _past(steps[following], days):
        following += 1
    if following not in reached:
        return None
    if last >= 0 and last_on is not None:
        gap = steps[following].offset_days - steps[last].offset_days
        if as_of < last_on + dt.timedelta(days=gap):
            return None
    return DueStep(steps[following], 0, days)


def _past(step: Step, days: int) -> bool:
    """A pre-due step (negative offset) on an invoice `days` past due, when that is after its due date: a
    reminder that it "falls due soon" would be untrue (see the module's docstring)."""
    return days > 0 and step.offset_days < 0


def _counted_as(ladder: Ladder, days: int, as_of: dt.date, run: Execution) -> tuple[int, dt.date]:
    """(The step of `ladder` a run of a step it does not name counts as, or -1 for none; its date)."""
    if run.offset_days is not None:
        return max((i for i, step in enumerate(ladder.steps) if step.offset_days <= run.offset_days),
                   default=-1), run.on
    then = days - (as_of - run.on).days
    return max((i for i, at in enumerate(ladder.reach) if then >= at),
               default=-1), run.on


def _repeat(policy: Policy, last: Step, runs: list[dt.date], as_of: dt.date, days: int) -> DueStep | None:
    every = policy.repeat_last_every_days
    if every <= 0 or not runs:
        return None
    if as_of >= max(runs) + dt.timedelta(days=every):
        return DueStep(last, len(runs), days)
    return None
