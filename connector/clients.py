"""`connector clients`: every configured client with its host, last sync and open balance."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from connector.adapters.tokens import TokenStore
from connector.config import ClientConfig, Workspace
from connector.errors import ConnectorError
from connector.planning import config_warnings
from connector.sync.lock import job_running
from connector.sync.store import Store, is_busy


@dataclass(frozen=True)
class ClientSummary:
    """One line of the client list; `error` is set when the client's config is invalid."""

    client: str
    name: str | None = None
    host: str | None = None
    currency: str | None = None
    last_sync: str | None = None
    last_outcome: str | None = None
    open_balance: Decimal | None = None
    error: str | None = None
    warning: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"client": self.client, "name": self.name, "host": self.host, "currency": self.currency,
                "last_sync": self.last_sync, "last_outcome": self.last_outcome,
                "open_balance": None if self.open_balance is None else str(self.open_balance),
                "error": self.error, "warning": self.warning}


def list_clients(workspace: Workspace) -> list[ClientSummary]:
    """Summaries of all clients; an invalid config is listed with its error rather than hiding the rest."""
    return [_summary(workspace, key) for key in workspace.client_keys()]


def _summary(workspace: Workspace, key: str) -> ClientSummary:
    try:
        config = workspace.load_client(key)
    except ConnectorError as exc:
        return ClientSummary(client=key, error=str(exc))
    warning = _token_warning(workspace, config)
    error = _policy_error(workspace, config)
    base = ClientSummary(client=key, name=config.name, host=config.host, currency=config.home_currency,
                         error=error, warning=warning)
    path = workspace.data_dir / key / "store.sqlite"
    if not path.exists():
        return base
    try:
        return _with_store(base, config, path, warning)
    except sqlite3.OperationalError as exc:
        if not is_busy(exc):
            raise
        busy = f"client '{config.key}': its store is busy: a sync is writing it (a first load holds it until it ends)"
        return replace(base, warning="; ".join(filter(None, [warning, busy])))


def _with_store(base: ClientSummary, config: ClientConfig, path: Path, warning: str | None) -> ClientSummary:
    with Store(path) as store:
        last = store.last_run(outcome=None)
        succeeded = store.last_run()
        warning = "; ".join(filter(None, [warning, *config_warnings(config, store)])) or None
        outcome = None if last is None else str(last["outcome"])
        if outcome == "running" and not job_running(path.parent):  # (killed: the next sync records it so)
            outcome = "interrupted"
        return replace(
            base, last_sync=None if succeeded is None else str(succeeded["ended_at"]), last_outcome=outcome,
            # (a store that never finished a sync holds no books: no balance is known, rather than 0.00)
            open_balance=None if succeeded is None else store.open_balance(config.home_currency), warning=warning)


def _policy_error(workspace: Workspace, config: ClientConfig) -> str | None:
    """The first policy the client (or one of its customers) names that is missing or invalid: its sync
    would run, but not its plan, so the list is where a consultant should learn of it."""
    names = dict.fromkeys([config.policy, *(c.policy for c in config.customers.values() if c.policy)])
    for name in names:
        try:
            workspace.load_policy(name)
        except ConnectorError as exc:
            return str(exc)
    return None


def _token_warning(workspace: Workspace, config: ClientConfig) -> str | None:
    """For QuickBooks and Xero clients: not connected yet, or a connection about to expire."""
    if config.host == "csv":
        return None
    folder = workspace.data_dir / config.key
    store = TokenStore(folder, config.key, config.host)
    if not store.path.exists():
        return f"client '{config.key}' is not connected: run `connector auth {config.key}`"
    try:
        return store.expiry_warning()
    except ConnectorError as exc:
        return str(exc)
