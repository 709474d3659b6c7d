"""Running a sync: adapter → staging → checks → merge, recorded as a sync run, one client at a time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from connector.adapters import Batch, LedgerAdapter, adapter_for
from connector.config import Workspace
from connector.errors import ConnectorError, InvalidLedgerData
from connector.records import ENTITIES
from connector.sync.lock import client_lock
from connector.sync.remote import WorkerPull
from connector.sync.staging import RestageForLines, Staging
from connector.sync.store import EntityCounts, MergeResult, Store

# A host's pull runs in a worker process (`remote.py`), so that reading and writing use both cores.  Tests
# that replay cassettes in this process turn it off: the worker's HTTP calls would not see the cassette.
HOSTS_IN_WORKER = True

# progress(records staged so far, records expected or None, what is happening: reading | checking | writing)
Progress = Callable[[int, int | None, str], None]


@dataclass
class SyncReport:
    """What one client's sync did, for the summary line, `--json` and the exit status."""

    client: str
    host: str
    outcome: str = "succeeded"
    counts: dict[str, EntityCounts] = field(default_factory=dict)
    api_calls: int = 0
    seconds: float = 0.0
    error: str | None = None
    exit_status: int = 0

    def total(self, what: str) -> int:
        return sum(getattr(c, what) for c in self.counts.values())

    def summary(self) -> str:
        """The line people read for a run that succeeded (`sync`, the demo)."""
        if not any(self.total(what) for what in ("new", "updated", "deleted", "unchanged")):
            # ("0 new, 0 updated, 0 deleted, 0 unchanged" read like an empty store: nothing was read, as nothing
            # changed)
            return (f"{self.client}: nothing changed since the last sync ({self.seconds:.1f} s, "
                    f"{self.api_calls:,} API call(s))")
        calls = f" ({self.api_calls:,} API call(s))" if self.api_calls else ""
        return (f"{self.client}: {self.total('new'):,} new, {self.total('updated'):,} updated, "
                f"{self.total('deleted'):,} deleted, {self.total('unchanged'):,} unchanged in {self.seconds:.1f} s"
                + calls)

    def as_json(self) -> dict[str, Any]:
        return {
            "client": self.client, "host": self.host, "outcome": self.outcome,
            "new": self.total("new"), "updated": self.total("updated"), "deleted": self.total("deleted"),
            "unchanged": self.total("unchanged"), "api_calls": self.api_calls,
            "seconds": round(self.seconds, 3), "error": self.error,
            "entities": {name: vars(c) for name, c in self.counts.items()},
        }


def sync_client(workspace: Workspace, key: str, *, full: bool = False,
                progress: Progress | None = None) -> SyncReport:
    """Sync one client into its store.  Failures are reported in the result, not raised.

    Config and usage errors (which happen before anything runs) are raised instead, since there is no
    run to record them in.
    """
    config = workspace.load_client(key)
    adapter: LedgerAdapter = adapter_for(config, workspace)  # made here too, so that its errors come early
    if config.host != "csv" and HOSTS_IN_WORKER:
        adapter = WorkerPull(workspace, key, config.host)
    report = SyncReport(client=key, host=config.host)
    started = time.monotonic()
    try:
        with client_lock(workspace.client_data_dir(key), key), Store(workspace.store_path(key)) as store:
            run_id = store.start_run(config.host, "full" if full else "incremental")
            try:
                total = _pull_into(store, adapter.pull(store.cursors(), full=full), progress, report,
                                   again=lambda: adapter.pull(store.cursors(), full=True))
            except ConnectorError as exc:
                report.api_calls = adapter.api_calls
                store.finish_run(run_id, "failed", api_calls=report.api_calls, error=str(exc))
                raise
            except Exception as exc:  # a bug: record it for the unattended job's log, then let it surface
                store.finish_run(run_id, "failed", api_calls=adapter.api_calls,
                                 error=f"internal error: {type(exc).__name__}: {exc}")
                raise
            report.api_calls = adapter.api_calls
            store.finish_run(run_id, "succeeded", total, api_calls=report.api_calls)
    except ConnectorError as exc:
        report.outcome, report.error, report.exit_status = "failed", str(exc), exc.exit_status
    report.seconds = time.monotonic() - started
    return report


def _pull_into(store: Store, batches: Iterable[Batch], progress: Progress | None, report: SyncReport,
               again: Callable[[], Iterable[Batch]] | None = None) -> MergeResult:
    """Stage, check and merge each batch.  A complete snapshot into an empty store (a csv ledger's first
    sync) is loaded straight into the store's tables; should its checks find a problem, that load is
    rolled back and the ledger read `again` the usual way, which reports the problem with its line."""
    total = MergeResult()
    done = 0
    for batch in batches:
        if again is not None and batch.strict and frozenset(ENTITIES) <= batch.snapshot and store.is_empty():
            try:
                with store.rollback_journal(), store.transaction():
                    staging = store.load_staging()
                    try:
                        done = _stage(staging, batch, done, progress)
                        result = store.settle_load(staging, batch.cursors)
                    finally:
                        staging.drop()
            except RestageForLines:
                for reading in (batch.records, batches):  # (stops a reader process still running)
                    getattr(reading, "close", lambda: None)()
                return _pull_into(store, again(), progress, report)
        else:
            staging = store.staging()
            try:
                done = _stage(staging, batch, done, progress)
                if progress:
                    progress(done, done, "writing")
                result = store.merge(staging, snapshot=batch.snapshot, deletions=batch.deletions,
                                     cursors=batch.cursors)
            finally:
                staging.drop()
        for entity, counts in result.counts.items():
            into = total.counts.setdefault(entity, EntityCounts())
            for what in ("new", "updated", "deleted", "unchanged"):
                setattr(into, what, getattr(into, what) + getattr(counts, what))
        report.counts = total.counts
    if progress:
        progress(done, done, "done")
    return total


def _stage(staging: Staging, batch: Batch, done: int, progress: Progress | None) -> int:
    """Stage a batch's records, seal and check them; return how many records have been staged in all."""
    shown = done
    for record in batch.records:
        done += staging.add(record)
        if progress and done - shown >= 1000:
            progress(done, batch.expected, "reading")
            shown = done
    if progress:
        progress(done, done, "checking")
    staging.seal()
    if batch.strict and (problems := staging.problems()):
        raise InvalidLedgerData(problems)
    return done
