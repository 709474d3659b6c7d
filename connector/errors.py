"""One exception root, with branches named for what the caller does next.

The CLI maps each branch to an exit status: configuration and input problems are the user's to fix
(status 2); host and run failures are reported and the job marked failed (status 1).  Messages name the
object at fault and the remedy, never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass


class ConnectorError(Exception):
    """Root of every error this package raises on purpose."""

    exit_status = 1


class ConfigError(ConnectorError):
    """A config file is missing or wrong: fix the file named in the message."""

    exit_status = 2

    def __init__(self, file: str, key: str | None, reason: str,
                 more: list[tuple[str, str]] | None = None) -> None:
        self.file, self.key, self.reason = file, key, reason
        self.problems = [(key, reason), *(more or [])]
        lines = [f"{file}: key '{k}': {r}" if k else f"{file}: {r}" for k, r in self.problems]
        super().__init__("\n".join(lines))

    @classmethod
    def many(cls, file: str, problems: list[tuple[str, str]]) -> ConfigError:
        """One error for several (key, reason) problems of the same file."""
        (key, reason), *rest = problems
        return cls(file, key, reason, rest)


class UsageError(ConnectorError):
    """The command was called wrongly (unknown client, clashing options): fix the command line."""

    exit_status = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of the input: a file, a line, a column and why."""

    file: str
    line: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"


class InvalidLedgerData(ConnectorError):
    """The ledger's data failed validation: nothing was written; fix the rows listed and sync again."""

    exit_status = 2
    shown = 20

    def __init__(self, problems: list[Problem], truncated: bool = False) -> None:
        self.problems = problems
        self.truncated = truncated
        lines = [str(p) for p in problems[: self.shown]]
        more = len(problems) - len(lines)
        if more > 0 or truncated:
            lines.append(f"... and {'more' if truncated else more} more problem(s)")
        count = f"{len(problems)}{'+' if truncated else ''}"
        super().__init__(f"{count} problem(s) in the ledger data; the store was not changed:\n  " + "\n  ".join(lines))

    def __reduce__(self) -> tuple[type[InvalidLedgerData], tuple[list[Problem], bool]]:
        """Pickled whole, so that a reader in a worker process can hand it to the parent."""
        return type(self), (self.problems, self.truncated)


class SyncInProgress(ConnectorError):
    """Another process holds this client's sync lock: wait for it, or check for a stuck job."""


class StoreError(ConnectorError):
    """The local store is unreadable or of a newer schema than this version knows: report it."""


class StoreBusy(StoreError):
    """Another process holds the store to itself for longer than we wait (a client's first load does, until
    it ends): try again later.  Nothing was read or written."""


class AuthError(ConnectorError):
    """The host refused our credentials and a refresh did not help: the client must reconnect (`connector auth`)."""


class RetriableHostError(ConnectorError):
    """The host is busy or failing (429, 5xx, timeouts, resets) and retries ran out: try again later."""


class DayLimitReached(RetriableHostError):
    """The host's daily call budget for this client is spent: the next run resumes where this one stopped."""


class FatalHostError(ConnectorError):
    """The host answered with an error retrying cannot fix (a 4xx other than 401 and 429): report it."""
