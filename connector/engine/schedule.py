"""When a planned contact may happen: send time, quiet hours, weekends and the rolling 7-day cap.

Every time here is the customer's local time; results are UTC instants.  An action that falls inside quiet
hours or on a weekend (when weekends are off) moves to the next allowed moment; one that would exceed the
cap moves to when the oldest contact in the window leaves it (a window that holds the action, before it or,
for contacts an earlier plan deferred, after it).  Actions are deferred, never dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from zoneinfo import ZoneInfo

from connector.config.models import ContactRules

UTC = dt.UTC
WEEK = dt.timedelta(days=7)


def quiet(rules: ContactRules, moment: dt.datetime) -> bool:
    if rules.quiet_hours is None:
        return False
    start, end = rules.quiet_hours
    t = moment.time()
    return (start <= t or t < end) if start > end else (start <= t < end)


def allowed(rules: ContactRules, local: dt.datetime) -> dt.datetime:
    """The first moment at or after `local` outside quiet hours and (if off) weekends."""
    for _ in range(14):
        if quiet(rules, local):
            end = rules.quiet_hours[1]  # type: ignore[index]
            day = local.date() if local.time() < end else local.date() + dt.timedelta(days=1)
            local = dt.datetime.combine(day, end, local.tzinfo)
            continue
        if not rules.weekends and local.weekday() >= 5:
            local = dt.datetime.combine(local.date() + dt.timedelta(days=7 - local.weekday()),
                                        local.time(), local.tzinfo)
            continue
        return local
    return local


def schedule(rules: ContactRules, send_time: dt.time, as_of: dt.date, zone: str,
             contacts: Sequence[dt.datetime], *, is_contact: bool) -> tuple[dt.datetime, list[str]]:
    """The UTC instant of one action, and why it moved (empty when it did not)."""
    if len(contacts) < rules.max_per_7_days or not is_contact:
        # (no 7 days can hold the cap: most customers of a plan share the answer, by quiet hours and weekends)
        due_at, why = _uncounted(rules.quiet_hours, rules.weekends, send_time, as_of, zone)
        return due_at, list(why)
    return _scheduled(rules, send_time, as_of, zone, contacts, is_contact=is_contact)


@lru_cache(maxsize=4096)
def _uncounted(quiet_hours: tuple[dt.time, dt.time] | None, weekends: bool, send_time: dt.time, as_of: dt.date,
               zone: str) -> tuple[dt.datetime, tuple[str, ...]]:
    """(Cached by plain values: hashing the rules themselves, a pydantic model, cost a plan 0.1 s.)"""
    rules = ContactRules(quiet_hours=quiet_hours, weekends=weekends)
    due_at, why = _scheduled(rules, send_time, as_of, zone, (), is_contact=False)
    return due_at, tuple(why)


def _scheduled(rules: ContactRules, send_time: dt.time, as_of: dt.date, zone: str,
               contacts: Sequence[dt.datetime], *, is_contact: bool) -> tuple[dt.datetime, list[str]]:
    tz = ZoneInfo(zone)
    wanted = dt.datetime.combine(as_of, send_time, tz)
    local = allowed(rules, wanted)
    why = []
    if local != wanted:
        why.append("quiet hours" if quiet(rules, wanted) else "weekend")
    if is_contact:
        for _ in range(2 * len(contacts) + 1):
            full = _full_window(contacts, local.astimezone(UTC), rules.max_per_7_days)
            if full is None:
                break
            local = allowed(rules, (full[0] + WEEK).astimezone(tz))
            why.append(f"at most {rules.max_per_7_days} contacts in 7 days")
    # (the customer's local time, named: the plan's due times are UTC)
    reason = [f"deferred from {wanted:%Y-%m-%d %H:%M} {zone} ({', '.join(dict.fromkeys(why))})"] if why else []
    return local.astimezone(UTC), reason


def _full_window(contacts: Sequence[dt.datetime], at: dt.datetime, cap: int) -> list[dt.datetime] | None:
    """The contacts of a 7-day window that holds `at` and already `cap` others, if there is one (else None).

    Windows after `at` count too: a contact deferred by an earlier plan may lie ahead, and one made now a few
    days before it would put both in the same 7 days.  Moving past the window's first contact + 7 days leaves
    that window; the caller tries again from there, always later, so it ends.
    """
    ahead = sorted(c for c in contacts if at < c < at + WEEK)
    for end in (at, *ahead):
        window = sorted(c for c in contacts if end - WEEK < c <= end)
        if len(window) >= cap:
            return window
    return None
