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
    """The ledger's data failed validation: nothing was written; fix the rows listed and sync again.

    The message tells each reason once per file and column, with the lines it applies to: a wrong home
    currency or date format fails every row alike, and a hundred copies of one line would hide the rest.
    """

    exit_status = 2
    shown = 20

    def __init__(self, problems: list[Problem], truncated: bool = False) -> None:
        self.problems = problems
        self.truncated = truncated
        groups = _grouped(problems)
        lines = [_told(place, reason, numbers) for (place, reason), numbers in list(groups.items())[: self.shown]]
        more = len(groups) - len(lines)
        if more > 0:
            lines.append(f"... and {more} more kind(s) of problem")
        if truncated:
            lines.append(f"... checking stopped after {len(problems)} problems: fix these and sync again to see the rest")
        count = f"{len(problems)}{'+' if truncated else ''}"
        super().__init__(f"{count} problem(s) in the ledger data; the store was not changed:\n  " + "\n  ".join(lines))

    def __reduce__(self) -> tuple[type[InvalidLedgerData], tuple[list[Problem], bool]]:
        """Pickled whole, so that a reader in a worker process can hand it to the parent."""
        return type(self), (self.problems, self.truncated)


def _grouped(problems: list[Problem]) -> dict[tuple[tuple[str, str | None], str], list[int | None]]:
    """The problems' lines by file and column and reason, in the order each was first met."""
    groups: dict[tuple[tuple[str, str | None], str], list[int | None]] = {}
    for problem in problems:
        groups.setdefault(((problem.file, problem.column), problem.reason), []).append(problem.line)
    return groups


def _told(place: tuple[str, str | None], reason: str, numbers: list[int | None]) -> str:
    """One reason, with where: `invoices.csv, lines 2-21, 23 (21 lines), column exchange_rate: ...`."""
    file, column = place
    lines = sorted({n for n in numbers if n is not None})
    if len(lines) <= 1:
        where = file + (f", line {lines[0]}" if lines else "")
    else:
        runs: list[list[int]] = []
        for n in lines:
            if runs and n == runs[-1][-1] + 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        told = [f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs[:6]]
        where = f"{file}, lines {', '.join(told)}{', ...' if len(runs) > 6 else ''} ({len(lines)} lines)"
    return f"{where}{f', column {column}' if column else ''}: {reason}"


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
