"""Every command has help and is documented in the README; the demo runs end to end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from connector.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_a_readme_section(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output
    assert re.search(rf"^### `connector {command}\b", README, re.M), f"README has no section for {command}"


def test_no_option_help_loses_words_to_rich_markup() -> None:
    """rich takes `[default: …]` in a help text for markup and prints nothing of it: defaults that are not
    values go in `show_default`, which typer prints whole."""
    result = CliRunner().invoke(app, ["aging", "--help"], env={"COLUMNS": "200"})
    assert "[default: (today in the client's time zone)]" in result.output
    for name, command in get_command(app).commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            assert "[" not in (getattr(param, "help", None) or ""), f"{name} {param.name}: {param.help}"


def test_readme_opens_with_the_two_commands() -> None:
    head = README[:1200]
    assert "make demo" in head and "make test" in head


def test_demo_runs_the_loop_without_credentials_or_network(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--size", "300", "--workdir", str(tmp_path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "demo-qbo: connected through OAuth" in result.output and "demo-xero: connected through OAuth" in result.output
    balances = {line.split()[0]: line.split()[-1] for line in result.output.splitlines()
                if len(line.split()) == 4 and line.split()[1] in ("quickbooks", "xero", "csv")}
    assert set(balances) == {"demo-qbo", "demo-xero", "demo-csv"} and len(set(balances.values())) == 1
    assert "aging as of" in result.output and "plan:" in result.output and "demo finished" in result.output
    # On an 80-column terminal the plan's rows keep their due date and time on one line, and no name is cut.
    plan = result.output[result.output.index("plan:"):result.output.index("demo finished")]
    shown = min(10, int(re.search(r"plan: (\d+) action", plan)[1]))  # type: ignore[index]
    assert len(re.findall(r"^ ?\d{4}-\d{2}-\d{2} \d{2}:\d{2} ", plan, re.MULTILINE)) == shown > 0
    assert "…" not in plan
    for key in ("demo-qbo", "demo-xero", "demo-csv"):
        assert (tmp_path / "data" / key / "store.sqlite").exists()


def test_demo_run_again_in_its_folder_says_nothing_changed(tmp_path: Path) -> None:
    """Run again over the same stores, the demo said "0 records", which read as if nothing had been synced."""
    for _ in range(2):
        result = CliRunner().invoke(app, ["demo", "--size", "200", "--workdir", str(tmp_path)])
        assert result.exit_code == 0, result.output
    for key in ("demo-qbo", "demo-csv"):
        assert f"{key}: nothing changed since the last sync (" in result.output
    # (Xero's If-Modified-Since reads again what changed at the cursor's instant: found unchanged)
    assert re.search(r"demo-xero: 0 new, 0 updated, 0 deleted, \d+ unchanged in ", result.output)
    assert "0 records" not in result.output


def test_demo_with_a_relative_workdir_finds_its_csv_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--workdir demo` is typed from the current folder; the csv client's config, written further down,
    must still point at the ledger beside it (it once pointed into config/clients/)."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--size", "200", "--workdir", "demo"])
    assert result.exit_code == 0, result.output
    assert "demo-csv" in result.output and "demo finished" in result.output
    config = (tmp_path / "demo" / "config" / "clients" / "demo-csv.toml").read_text(encoding="utf-8")
    assert f'path = "{tmp_path / "demo" / "ledger"}"' in config
