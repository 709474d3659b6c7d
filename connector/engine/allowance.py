"""The allowance for doubtful accounts by the aging method: each bucket's balance times its rate.

This is the figure the month-end close books.  Rounding is a choice the accountant makes: `per_line`
rounds each bucket's allowance to the cent and adds them (the schedule then foots line by line);
`total` adds the unrounded products and rounds once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from connector.engine.aging import AgingReport
from connector.money import exponent


@dataclass(frozen=True)
class AllowanceLine:
    bucket: str
    balance: Decimal
    rate: Decimal  # percent
    allowance: Decimal  # rounded when per_line, exact otherwise


@dataclass(frozen=True)
class Allowance:
    as_of: str
    currency: str
    lines: list[AllowanceLine]
    total: Decimal
    rounding: str

    def as_json(self) -> dict[str, object]:
        return {"as_of": self.as_of, "currency": self.currency, "rounding": self.rounding,
                "lines": [{"bucket": line.bucket, "balance": str(line.balance), "rate_pct": str(line.rate),
                           "allowance": str(line.allowance)} for line in self.lines],
                "total": str(self.total)}


def allowance(aging: AgingReport, rates: Mapping[str, Decimal],
              rounding: Literal["per_line", "total"] = "per_line") -> Allowance:
    """Apply a percentage per bucket to the aging's totals.

    A bucket without a rate is an error, and so is a rate for no bucket: a misspelt name ("91 +"), or rates
    left from before the aging's edges changed, would otherwise leave a bucket reserved at a rate nobody set.
    """
    missing = [name for name in aging.buckets if name not in rates]
    unknown = [name for name in rates if name not in aging.buckets]
    if missing or unknown:
        problems = [f"no allowance rate for bucket(s) {', '.join(missing)}"] if missing else []
        problems += [f"no bucket named {', '.join(map(repr, unknown))}"] if unknown else []
        raise ValueError(f"{'; '.join(problems)}: the aging's buckets are {', '.join(aging.buckets)}, "
                         "one rate each in [allowance] rates")
    cent = Decimal(1).scaleb(-exponent(aging.currency))
    lines = []
    for name in aging.buckets:
        exact = aging.totals[name] * rates[name] / 100
        lines.append(AllowanceLine(name, aging.totals[name], rates[name],
                                   exact.quantize(cent, ROUND_HALF_UP) if rounding == "per_line" else exact))
    total = sum((line.allowance for line in lines), Decimal(0)).quantize(cent, ROUND_HALF_UP)
    return Allowance(str(aging.as_of), aging.currency, lines, total, rounding)
