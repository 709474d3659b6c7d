"""Client configs and policies: `init` templates, `clients`, and clear refusals of bad files."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from connector.config import Workspace
from connector.errors import ConfigError
from tests.conftest import cli


def write_client(workspace: Workspace, key: str, text: str) -> Path:
    file = workspace.clients_dir / f"{key}.toml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return file


@pytest.mark.parametrize("host", ["quickbooks", "xero", "csv"])
def test_init_writes_a_commented_template_that_loads(workspace: Workspace, tmp_path: Path, host: str) -> None:
    extra = ["--path", str(tmp_path / "ledger")] if host == "csv" else []
    result = cli(workspace, "init", "acme", "--host", host, "--name", 'Acme "Quoted" Ltd',
                 "--timezone", "Europe/London", "--currency", "GBP", *extra)
    assert result.exit_code == 0, result.output
    file = workspace.clients_dir / "acme.toml"
    text = file.read_text()
    assert "# " in text and "secret" in text.lower()  # commented, and explains where secrets go
    config = workspace.load_client("acme")
    assert (config.host, config.name, config.timezone, config.home_currency) == (
        host, 'Acme "Quoted" Ltd', "Europe/London", "GBP")


def test_init_writes_the_default_policy_once_where_the_practice_can_edit_it(workspace: Workspace) -> None:
    result = cli(workspace, "init", "acme", "--host", "xero")
    policy = workspace.config_dir / "policies" / "default.toml"
    assert result.exit_code == 0 and f"wrote {policy}" in result.stdout
    packaged = workspace.load_policy("default")
    assert [(s.name, s.offset_days) for s in packaged.steps][:2] == [("courtesy", -5), ("overdue", 1)]
    policy.write_text(policy.read_text().replace("min_balance = \"50.00\"", "min_balance = \"75.00\""))
    second = cli(workspace, "init", "beta", "--host", "xero")
    assert second.exit_code == 0 and "default.toml" not in second.stdout  # an edited policy is kept
    assert workspace.load_policy("default").min_balance == Decimal("75.00")


def test_init_refuses_to_overwrite_an_existing_client(workspace: Workspace, tmp_path: Path) -> None:
    assert cli(workspace, "init", "acme", "--host", "xero").exit_code == 0
    result = cli(workspace, "init", "acme", "--host", "xero")
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert cli(workspace, "init", "acme", "--host", "xero", "--force").exit_code == 0


def test_init_refuses_an_unknown_host_and_a_csv_client_without_a_folder(workspace: Workspace) -> None:
    assert cli(workspace, "init", "acme", "--host", "sage").exit_code == 2
    result = cli(workspace, "init", "acme", "--host", "csv")
    assert result.exit_code == 2 and "--path" in result.output
    assert not (workspace.clients_dir / "acme.toml").exists()


def test_csv_path_is_relative_to_the_config_file(workspace: Workspace) -> None:
    write_client(workspace, "rel", 'name = "Rel"\nhost = "csv"\npath = "../ledgers/rel"\n')
    assert workspace.load_client("rel").csv_folder == (workspace.config_dir / "ledgers" / "rel").resolve()


@pytest.mark.parametrize("text, key, reason", [
    ('name = "A"\nhost = "sage"\n', "host", "'quickbooks', 'xero' or 'csv'"),
    ('name = "A"\nhost = "xero"\nauto_approve = "yes"\n', "auto_approve", "valid boolean"),
    ('name = 5\nhost = "xero"\n', "name", "valid string"),
    ('name = "A"\nhost = "xero"\ntimezone = "Mars/Olympus"\n', "timezone", "not an IANA time zone"),
    ('name = "A"\nhost = "xero"\nhome_currency = "pounds"\n', "home_currency", "not a currency code"),
    ('name = "A"\nhost = "xero"\nauto_aprove = true\n', "auto_aprove", "unknown key"),
    ('host = "xero"\n', "name", "required key is missing"),
    ('name = "A"\nhost = "xero"\n[credentials]\nclient_secret = "s3cr3t-value"\n',
     "credentials.client_secret", "literal secret"),
    ('name = "A"\nhost = "xero"\n[credentials]\nclient_secret_env = "abc 123 !x"\n',
     "credentials.client_secret_env", "NAME of an environment variable"),
    ('name = "A"\nhost = "xero"\naccess_token = "eyJhbGciOiJSUzI1NiIsImtpZCI6"\n', "access_token", "literal secret"),
    ('name = "A"\nhost = "xero"\n[customers."C 42"]\npause_until = "someday"\n',
     'customers."C 42".pause_until', "valid date"),
    ('name = "A"\nhost = "xero"\n[customers.C1]\ncredit_limit = 2500.5\n',
     "customers.C1.credit_limit", "quoted decimals"),
    ('name = "A"\nhost = "xero"\nrealm_id = "123"\n', "(top level)", "'realm_id' belongs to quickbooks"),
    ('name = "A"\nhost = "xero"\n[segments]\nprompt_max_pct_late = "50"\n', "segments",
     "prompt_max_pct_late (50) is more than occasional_max_pct_late (35)"),
    ('name = "A"\nhost = "xero"\n[segments]\nfrequent_max_avg_days_late = "10"\n', "segments",
     "occasional_max_avg_days_late (15) is more than frequent_max_avg_days_late (10)"),
    ('name = "A"\nhost = "xero"\n[allowance.rates]\ncurrent = "1"\n"1-30" = "3"\n"31-60" = "10"\n"61-90" = "25"\n'
     '"91+" = "150"\n', "allowance", "at most 100; over it: 91+"),
    ('name = "A"\nhost = "xero"\n[segments]\noccasional_max_pct_late = "120"\n', "segments",
     "occasional_max_pct_late is a percentage: at most 100"),
])
def test_invalid_config_is_refused_naming_file_key_and_reason(
        workspace: Workspace, text: str, key: str, reason: str) -> None:
    file = write_client(workspace, "bad", text)
    with pytest.raises(ConfigError) as caught:
        workspace.load_client("bad")
    assert any(k == key and reason in r for k, r in caught.value.problems), caught.value.problems
    result = cli(workspace, "sync", "bad")
    assert result.exit_code == 2
    assert str(file) in result.output and key in result.output


def test_a_literal_secret_never_reaches_the_error_message(workspace: Workspace) -> None:
    write_client(workspace, "leaky", 'name = "A"\nhost = "xero"\nclient_secret = "hunter2-very-secret"\n')
    result = cli(workspace, "clients")
    assert result.exit_code == 2
    assert "client_secret" in result.output and "hunter2" not in result.output


def test_bad_toml_syntax_names_the_file_and_line(workspace: Workspace) -> None:
    file = write_client(workspace, "broken", 'name = "A"\nhost = \n')
    result = cli(workspace, "sync", "broken")
    assert result.exit_code == 2
    assert str(file) in result.output and "line 2" in result.output


def test_clients_lists_every_client_and_flags_the_invalid_ones(workspace: Workspace, tmp_path: Path) -> None:
    cli(workspace, "init", "good", "--host", "csv", "--path", str(tmp_path), "--currency", "GBP")
    cli(workspace, "init", "qbo", "--host", "quickbooks")
    write_client(workspace, "bad", 'name = "Bad"\nhost = "sage"\n')
    result = cli(workspace, "clients", "--json")
    assert result.exit_code == 2  # the listing is printed, and the exit status says a config is bad
    listed = {c["client"]: c for c in json.loads(result.stdout)["clients"]}
    assert set(listed) == {"good", "qbo", "bad"}
    table = cli(workspace, "clients", "--csv")  # (the same, for a consultant's spreadsheet)
    assert table.exit_code == 2 and {r["client"]: r["host"] for r in csv.DictReader(io.StringIO(table.stdout))} == {
        "good": "csv", "qbo": "quickbooks", "bad": ""}
    assert listed["good"]["host"] == "csv" and listed["good"]["last_sync"] is None
    assert "host" in listed["bad"]["error"]


def test_clients_flags_a_client_whose_policy_is_missing_or_invalid(workspace: Workspace, tmp_path: Path) -> None:
    """Its sync would run but its plan would not: the list is where a consultant checks the configs."""
    cli(workspace, "init", "good", "--host", "csv", "--path", str(tmp_path))
    cli(workspace, "init", "gentle", "--host", "csv", "--path", str(tmp_path))
    file = workspace.client_file("gentle")
    file.write_text(file.read_text().replace('policy = "default"', 'policy = "gentle"'))
    result = cli(workspace, "clients", "--json")
    listed = {c["client"]: c for c in json.loads(result.stdout)["clients"]}
    assert result.exit_code == 2 and listed["good"]["error"] is None
    assert "policy 'gentle' not found" in listed["gentle"]["error"] and listed["gentle"]["host"] == "csv"
    (workspace.config_dir / "policies" / "gentle.toml").write_text(
        'name = "Gentle"\n[[steps]]\nname = "a"\noffset_days = 5\naction = "remind"\n')
    listed = {c["client"]: c for c in json.loads(cli(workspace, "clients", "--json").stdout)["clients"]}
    assert "gentle.toml: key 'steps[0].action'" in listed["gentle"]["error"]
    text = cli(workspace, "clients")
    assert text.exit_code == 2 and "steps[0].action" in text.output


def test_unknown_client_is_a_usage_error_listing_the_known_ones(workspace: Workspace) -> None:
    cli(workspace, "init", "acme", "--host", "xero")
    result = cli(workspace, "sync", "acne")
    assert result.exit_code == 2
    assert "no client 'acne'" in result.output and "acme" in result.output


def test_default_policy_is_packaged_and_valid(workspace: Workspace) -> None:
    policy = workspace.load_policy("default")
    assert [s.offset_days for s in policy.steps] == [-5, 1, 7, 14, 21, 30, 60, 90]
    assert policy.segments["problem"].shift_days == -7


@pytest.mark.parametrize("steps, reason", [
    ('[[steps]]\nname="a"\noffset_days=5\naction="note"\n[[steps]]\nname="a"\noffset_days=9\naction="note"\n',
     "step names must be unique"),
    ('[[steps]]\nname="a"\noffset_days=5\naction="note"\n[[steps]]\nname="b"\noffset_days=1\naction="note"\n',
     "strictly increasing offset_days"),
    ('[[steps]]\nname="a"\noffset_days=5\naction="sms_blast"\n', "'reminder'"),
    ('[[steps]]\nname="boss"\noffset_days=30\naction="escalate"\nchannel="none"\n',
     "step 'boss' escalates: name the person in escalate_to"),
    ('[[steps]]\nname="nudge"\noffset_days=1\naction="reminder"\n', "step 'nudge' sends an e-mail: name its template"),
    ('[[steps]]\nname="early"\noffset_days=-5\naction="note"\nskip_segments=["promt"]\n',
     "step 'early' skips unknown segment\\(s\\) promt"),
    ('[[steps]]\nname="a"\noffset_days=5\naction="note"\n[segments.problems]\nshift_days=-7\n',
     "\\[segments.problems\\] is not a segment"),
])
def test_invalid_policy_is_refused(workspace: Workspace, steps: str, reason: str) -> None:
    file = workspace.config_dir / "policies" / "strict.toml"
    file.parent.mkdir(parents=True)
    file.write_text('name = "Strict"\n' + steps)
    with pytest.raises(ConfigError, match=reason) as caught:
        workspace.load_policy("strict")
    assert str(file) in str(caught.value)


def test_a_policy_naming_a_template_that_is_not_there_is_refused(workspace: Workspace) -> None:
    """A mistyped tone used to be accepted: the plan listed the step, and its reminder could not be written
    on the day it was due.  A practice's own tone counts once it has a text for every kind of customer."""
    file = workspace.config_dir / "policies" / "own.toml"
    file.parent.mkdir(parents=True)
    file.write_text('name = "Own"\n' + "".join(
        f'[[steps]]\nname = "{name}"\noffset_days = {days}\naction = "reminder"\ntemplate = "{tone}"\n'
        for name, days, tone in [("nudge", 1, "firm"), ("press", 9, "frim"), ("kind", 12, "gentle")]))
    with pytest.raises(ConfigError) as caught:
        workspace.load_policy("own")
    assert str(caught.value).splitlines() == [
        f"{file}: key 'steps[1].template': step 'press' names template 'frim', but there is no frim.txt.j2 in "
        f"{workspace.config_dir / 'templates' / 'mail'} nor among the packaged templates (tones: final, firm, "
        "friendly, overdue)",
        f"{file}: key 'steps[2].template': step 'kind' names template 'gentle', but there is no gentle.txt.j2 in "
        f"{workspace.config_dir / 'templates' / 'mail'} nor among the packaged templates (tones: final, firm, "
        "friendly, overdue)"]
    own = workspace.config_dir / "templates" / "mail"
    own.mkdir(parents=True)
    for name in ("frim.txt.j2", "gentle.new.txt.j2", "gentle.problem.txt.j2"):
        (own / name).write_text("Subject: Your account\nPlease pay.\n")
    with pytest.raises(ConfigError, match="template 'gentle' \\(step 'kind'\\) has no text for regular, large "
                       "customers: add gentle.txt.j2") as caught:
        workspace.load_policy("own")
    assert "frim" not in str(caught.value)
    (own / "gentle.regular.txt.j2").write_text("Subject: Your account\nPlease pay.\n")
    (own / "gentle.large.txt.j2").write_text("Subject: Your account\nPlease pay.\n")
    assert [s.template for s in workspace.load_policy("own").steps] == ["firm", "frim", "gentle"]


def test_endpoint_urls_are_not_mistaken_for_secrets(workspace: Workspace) -> None:
    write_client(workspace, "x", 'name = "X"\nhost = "xero"\n[endpoints]\ntoken_url = "http://127.0.0.1:8700/connect/token"\n')
    assert workspace.load_client("x").endpoints.token_url.endswith("/connect/token")


def test_limits_override_the_host_defaults(workspace: Workspace) -> None:
    from connector.adapters.http import XERO_LIMITS, limits_for

    write_client(workspace, "x", 'name = "X"\nhost = "xero"\n[limits]\nper_minute = 600\n')
    config = workspace.load_client("x")
    limits = limits_for(XERO_LIMITS, **config.limits.model_dump())
    assert (limits.per_minute, limits.concurrent, limits.per_day) == (600, 4, 5000)
    write_client(workspace, "y", 'name = "Y"\nhost = "xero"\n[limits]\nper_minute = "lots"\n')
    with pytest.raises(ConfigError, match="limits.per_minute"):
        workspace.load_client("y")


def test_clients_keeps_a_shared_policys_clients_listed_and_says_its_error_once(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistake in the policy three clients share once listed them as 'invalid config' (hiding their syncs
    and balances) and printed the same error three times; and at 80 columns the last sync wrapped."""
    from connector.cli import common
    from tests.conftest import make_company

    ledger = make_company(tmp_path / "ledger", invoices=50)
    for key in ("north", "south", "east"):
        cli(workspace, "init", key, "--host", "csv", "--path", str(ledger), "--currency", "GBP")
        file = workspace.client_file(key)
        file.write_text(file.read_text().replace(f'name = "{key}"', f'name = "{key.title()} Wholesale Partners Ltd"'))
        assert cli(workspace, "sync", key).exit_code == 0
    policy = workspace.policy_file("default")
    policy.write_text(policy.read_text().replace('escalate_to = "Credit manager"\n', ""))
    monkeypatch.setattr(common.out, "width", 80)
    result = cli(workspace, "clients")
    assert result.exit_code == 2
    rows = [line for line in result.stdout.splitlines() if line.split()[:1] in (["north"], ["south"], ["east"])]
    assert len(rows) == 3 and "invalid config" not in result.stdout
    assert all(re.search(r" \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC +GBP [\d,]+\.\d\d", row) for row in rows), result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: east, north, south: {policy}: key 'steps[5]': step 'escalation' escalates: "
                      "name the person in escalate_to"]
