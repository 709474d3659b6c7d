"""A host's pull run in a worker process, handing finished store rows to the sync that writes them.

A QuickBooks or Xero sync is bound by one core: parsing pages with exact decimals, mapping them to canonical
records, and building rows and digests take as long as SQLite takes to write them.  In a worker process
(`connector.adapters.worker`) the adapter pulls, maps and prepares rows while this process stages and
merges, as a large csv load already does.

The worker makes its own adapter from the client's config, so it reaches the host with the same token
store (refreshes are under the same file lock), limiter settings and HTTP policy; this process makes none
of those calls.  Batches keep their meaning: each arrives with its records as `Prepared` rows, and its
cursors, deletions and the calls made so far come after its last record, when the adapter has set them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from connector.adapters import Batch, adapter_for
from connector.adapters.worker import iterate_in_worker
from connector.config import Workspace
from connector.errors import ConnectorError
from connector.sync.rows import Prepared, prepared_chunks


class WorkerPull:
    """Stands in for a host adapter: the same `pull` and `api_calls`, with the pulling done in a worker."""

    def __init__(self, workspace: Workspace, key: str, host: str) -> None:
        self.workspace, self.key, self.host = workspace, key, host
        self.api_calls = 0

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Batch]:
        items = self._counted(iterate_in_worker("connector.sync.remote:pull_rows", self.workspace.config_dir,
                                                self.workspace.data_dir, self.key, dict(cursors), full))
        for item in items:
            _, snapshot, strict, expected = item  # ("batch", …): the records follow
            batch = Batch(records=(), snapshot=snapshot, strict=strict, expected=expected)
            batch.records = self._records(items, batch)
            yield batch

    def _counted(self, items: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from items
        except ConnectorError as exc:  # the calls the worker made before it failed count too
            self.api_calls = getattr(exc, "api_calls", self.api_calls)
            raise

    def _records(self, items: Iterator[Any], batch: Batch) -> Iterator[Prepared]:
        for item in items:
            if isinstance(item, Prepared):
                yield item
                continue
            _, cursors, deletions, self.api_calls = item  # ("end", …): the batch is complete
            batch.cursors.update(cursors)
            batch.deletions.update(deletions)
            return


def pull_rows(config_dir: Path, data_dir: Path, key: str, cursors: dict[str, str],
              full: bool) -> Iterator[tuple[Any, ...] | Prepared]:
    """In the worker: the client's adapter's batches, as markers around their prepared rows."""
    workspace = Workspace(config_dir, data_dir)
    adapter = adapter_for(workspace.load_client(key), workspace)
    try:
        for batch in adapter.pull(cursors, full=full):
            yield "batch", batch.snapshot, batch.strict, batch.expected
            yield from prepared_chunks(batch.records)
            yield "end", dict(batch.cursors), {k: list(v) for k, v in batch.deletions.items()}, adapter.api_calls
    except ConnectorError as exc:
        exc.api_calls = adapter.api_calls  # type: ignore[attr-defined]  # travels with the error (its __dict__)
        raise
