"""Adapters: one module per host.  Each turns its host's data into canonical records and nothing else
leaves it; see `base.LedgerAdapter` for the contract they all meet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector.adapters.base import Batch, LedgerAdapter
from connector.config.models import ClientConfig

if TYPE_CHECKING:
    from connector.config import Workspace


def adapter_for(config: ClientConfig, workspace: Workspace) -> LedgerAdapter:
    """The adapter for a client's host."""
    if config.host == "csv":
        from connector.adapters.csv import CsvLedger

        return CsvLedger(config.csv_folder, home_currency=config.home_currency)
    if config.host == "quickbooks":
        from connector.adapters.quickbooks import QuickBooksLedger

        return QuickBooksLedger(config, workspace)
    from connector.adapters.xero import XeroLedger

    return XeroLedger(config, workspace)


__all__ = ["Batch", "LedgerAdapter", "adapter_for"]
