"""The contract every adapter meets: pull batches of canonical records from a host."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from connector.records import Record
from connector.sync.rows import Prepared


@dataclass
class Batch:
    """Records to merge in one transaction, with the cursors that cover them.

    `snapshot` names the entities the batch holds in full (records the store has and the batch lacks
    are then deleted); `strict` asks the store to refuse the whole batch if any reference in it does
    not resolve, which suits ledgers that are read whole, like a csv folder.
    """

    records: Iterable[Record | Prepared]
    cursors: dict[str, str] = field(default_factory=dict)
    snapshot: frozenset[str] = frozenset()
    deletions: dict[str, list[str]] = field(default_factory=dict)
    strict: bool = False
    expected: int | None = None


class LedgerAdapter(Protocol):
    """A host the connector can sync from."""

    host: str

    @property
    def api_calls(self) -> int:
        """Calls made to the host so far (0 for csv)."""
        ...

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Batch]:
        """Yield batches of what changed since `cursors` (everything, when `full`)."""
        ...
