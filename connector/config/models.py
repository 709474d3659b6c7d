"""Typed models of a client's config file and of a dunning policy file.

Unknown keys are refused rather than ignored: in a file that drives e-mails to customers a misspelt key
silently doing nothing is worse than an error.  Secrets never live here; `*_env` keys name the
environment variables that hold them.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from connector.money import MoneyError, check_currency

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{name}' is not an IANA time zone (like Europe/London)") from None
    return name


def _currency(code: str) -> str:
    try:
        return check_currency(code)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


def _env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(
            "must be the NAME of an environment variable (like XERO_CLIENT_SECRET), not a value; "
            "never write a secret in a config file")
    return name


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError(f"write amounts as quoted decimals (\"{value:.2f}\"), not as numbers, "
                         "so that no binary rounding creeps in")
    return value


TimeZone = Annotated[str, AfterValidator(_zone)]
Currency = Annotated[str, AfterValidator(_currency)]
EnvName = Annotated[str, AfterValidator(_env_name)]
Money = Annotated[Decimal, BeforeValidator(_no_float), Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Credentials(_Strict):
    """Names of the environment variables that hold the app's OAuth client id and secret."""

    client_id_env: EnvName | None = None
    client_secret_env: EnvName | None = None


class Endpoints(_Strict):
    """Where the host's API lives; set only for the sandbox or a test server."""

    api_base: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    connections_url: str | None = None
    discovery_url: str | None = None


class EmailSettings(_Strict):
    """How reminders reach customers: written to a folder, sent by SMTP, or by the ledger itself."""

    channel: Literal["folder", "smtp", "host"] = "folder"
    sender: str | None = Field(default=None, alias="from")


class CustomerSettings(_Strict):
    """Per-customer overrides of the client's policy."""

    exclude: StrictBool = False
    pause_until: dt.date | None = None
    policy: str | None = None
    credit_limit: Money | None = None
    timezone: TimeZone | None = None


class MetricsSettings(_Strict):
    """Conventions for metrics where the literature disagrees."""

    cei_sales: Literal["period_total", "monthly_average"] = "period_total"


class WriteOffSettings(_Strict):
    """How a QuickBooks or Xero credit note is known to write a debt off (a csv ledger says so in its `reason`
    column): neither host has a field for it, so accountants book write-offs to a bad-debt item or account.
    A credit note with a line on one of these is a write-off (compared without case)."""

    items: list[str] = ["Bad Debt"]  # QuickBooks: a line's product/service name; Xero: a line's item code
    accounts: list[str] = []  # Xero: a line's account code (your bad-debt expense account, say "489")

    def marks(self, item: object, account: object = None) -> bool:
        """True when a credit note line's item or account is one of the write-off ones."""
        return (isinstance(item, str) and item.casefold() in {i.casefold() for i in self.items}) or (
            isinstance(account, str) and account.casefold() in {a.casefold() for a in self.accounts})


class AgingSettings(_Strict):
    """How the aging is bucketed: by due date (default) or invoice date, and the bucket edges in days."""

    basis: Literal["due_date", "invoice_date"] = "due_date"
    edges: list[StrictInt] = Field(default=[30, 60, 90], min_length=1)

    @model_validator(mode="after")
    def _increasing(self) -> AgingSettings:
        if self.edges != sorted(set(self.edges)) or self.edges[0] < 1:
            raise ValueError("edges must be increasing whole days, the first at least 1 (like [30, 60, 90])")
        return self


class AllowanceSettings(_Strict):
    """The aging-method allowance for doubtful accounts: a percentage per aging bucket."""

    rates: dict[str, Money] = {"current": Decimal("1"), "1-30": Decimal("3"), "31-60": Decimal("10"),
                               "61-90": Decimal("25"), "91+": Decimal("50")}
    rounding: Literal["per_line", "total"] = "per_line"

    @model_validator(mode="after")
    def _percentages(self) -> AllowanceSettings:
        over = sorted(bucket for bucket, rate in self.rates.items() if rate > 100)
        if over:
            raise ValueError(f"rates are percentages of each bucket, at most 100; over it: {', '.join(over)}")
        return self


class SegmentThresholds(_Strict):
    """Where one payment-behaviour segment ends and the next begins, over the trailing 12 months."""

    min_paid_invoices: StrictInt = Field(default=3, ge=1)
    prompt_max_pct_late: Money = Decimal("10")
    prompt_max_avg_days_late: Money = Decimal("3")
    occasional_max_pct_late: Money = Decimal("35")
    occasional_max_avg_days_late: Money = Decimal("15")
    frequent_max_avg_days_late: Money = Decimal("45")
    problem_days_past_due: StrictInt = Field(default=90, ge=1)

    @model_validator(mode="after")
    def _nested(self) -> SegmentThresholds:
        """Each segment's limits within the next one's: otherwise a segment is silently never reached."""
        for lower, upper in (("prompt_max_pct_late", "occasional_max_pct_late"),
                             ("prompt_max_avg_days_late", "occasional_max_avg_days_late"),
                             ("occasional_max_avg_days_late", "frequent_max_avg_days_late")):
            if getattr(self, lower) > getattr(self, upper):
                raise ValueError(f"{lower} ({getattr(self, lower)}) is more than {upper} ({getattr(self, upper)}); "
                                 "each segment's limit must be within the next one's")
        if self.occasional_max_pct_late > 100:
            raise ValueError("occasional_max_pct_late is a percentage: at most 100")
        return self


class LimitSettings(_Strict):
    """Our own call ceilings for this client, when the host's defaults do not fit (a test server, or an app
    tier with other limits).  Unset keys keep the defaults: just under the host's published limits."""

    per_minute: StrictInt | None = Field(default=None, ge=1)
    concurrent: StrictInt | None = Field(default=None, ge=1)
    per_day: StrictInt | None = Field(default=None, ge=1)


Host = Literal["quickbooks", "xero", "csv"]


class ClientConfig(_Strict):
    """One client's config file, `config/clients/<key>.toml`."""

    key: str = Field(exclude=True, description="The client's name on the command line (the file's stem).")
    file: Path = Field(exclude=True, description="The file this config was read from.")
    name: str = Field(min_length=1)
    host: Host
    tenant_id: str | None = None
    realm_id: str | None = None
    path: Path | None = None
    timezone: TimeZone = "UTC"
    home_currency: Currency = "USD"
    policy: str = "default"
    auto_approve: StrictBool = False
    credentials: Credentials = Credentials()
    endpoints: Endpoints = Endpoints()
    email: EmailSettings = EmailSettings()
    limits: LimitSettings = LimitSettings()
    metrics: MetricsSettings = MetricsSettings()
    write_offs: WriteOffSettings = WriteOffSettings()
    aging: AgingSettings = AgingSettings()
    allowance: AllowanceSettings = AllowanceSettings()
    segments: SegmentThresholds = SegmentThresholds()
    customers: dict[str, CustomerSettings] = {}

    @model_validator(mode="after")
    def _host_keys(self) -> ClientConfig:
        own = {"quickbooks": "realm_id", "xero": "tenant_id", "csv": "path"}
        for host, key in own.items():
            if host != self.host and getattr(self, key) is not None:
                raise ValueError(f"'{key}' belongs to {host} clients; this client's host is {self.host}")
        if self.host == "csv" and self.path is None:
            raise ValueError("csv clients need 'path', the folder holding customers.csv and invoices.csv")
        return self

    @property
    def csv_folder(self) -> Path:
        """The csv ledger folder; a relative `path` is taken from the config file's own folder."""
        assert self.path is not None
        return self.path if self.path.is_absolute() else (self.file.parent / self.path).resolve()


Action = Literal["reminder", "statement", "note", "call", "escalate", "final_demand", "agency"]
# The payment-behaviour segments (`connector.engine.segments`), which a policy's steps and overrides name.
SEGMENT_NAMES = ("prompt", "occasionally_late", "frequently_late", "problem", "new")


class Step(_Strict):
    """One dunning step: what to do, how many days from the due date, and how."""

    name: str = Field(min_length=1)
    offset_days: StrictInt
    action: Action
    channel: Literal["email", "host", "none"] = "email"
    template: str | None = None
    skip_segments: list[str] = []
    escalate_to: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Step:
        """A step that could not be carried out as written is refused here, not discovered on the day."""
        if self.action == "escalate" and not self.escalate_to:
            raise ValueError(f"step '{self.name}' escalates: name the person in escalate_to")
        if self.channel == "email" and self.action in ("reminder", "statement", "final_demand") and not self.template:
            raise ValueError(f"step '{self.name}' sends an e-mail: name its template")
        unknown = [name for name in self.skip_segments if name not in SEGMENT_NAMES]
        if unknown:
            raise ValueError(f"step '{self.name}' skips unknown segment(s) {', '.join(unknown)}; segments are "
                             f"{', '.join(SEGMENT_NAMES)}")
        return self


class ContactRules(_Strict):
    """When a customer may be contacted, in the customer's own local time."""

    quiet_hours: tuple[dt.time, dt.time] | None = (dt.time(20), dt.time(8))
    weekends: StrictBool = False
    max_per_7_days: StrictInt = Field(default=3, ge=1)


class SegmentOverride(_Strict):
    """How a payment-behaviour segment bends the policy."""

    shift_days: StrictInt = 0


class Policy(_Strict):
    """A dunning policy, `config/policies/<name>.toml`; its meaning is in the README, "A dunning policy"."""

    key: str = Field(exclude=True)
    file: Path = Field(exclude=True)
    name: str = Field(min_length=1)
    consolidate: StrictBool = True
    escalation: Literal["catch_up", "one_step_per_run"] = "catch_up"
    repeat_last_every_days: StrictInt = Field(default=15, ge=0)
    min_balance: Money = Decimal("0")
    send_time: dt.time = dt.time(9)
    plan_breach_step: str | None = None
    plan_grace_days: StrictInt = Field(default=0, ge=0, le=60)
    contact: ContactRules = ContactRules()
    steps: list[Step] = Field(min_length=1)
    segments: dict[str, SegmentOverride] = {}

    @model_validator(mode="after")
    def _ordered_steps(self) -> Policy:
        names = [step.name for step in self.steps]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"step names must be unique; repeated: {', '.join(duplicates)}")
        offsets = [step.offset_days for step in self.steps]
        if offsets != sorted(set(offsets)):
            raise ValueError("steps must be listed in order of strictly increasing offset_days")
        if self.plan_breach_step is not None and self.plan_breach_step not in names:
            raise ValueError(f"plan_breach_step '{self.plan_breach_step}' is not one of the steps")
        unknown = sorted(set(self.segments) - set(SEGMENT_NAMES))
        if unknown:
            raise ValueError(f"[segments.{unknown[0]}] is not a segment; segments are {', '.join(SEGMENT_NAMES)}")
        return self
