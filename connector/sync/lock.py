"""One job per client at a time: an exclusive, non-blocking file lock in the client's data folder.

The operating system drops the lock when the process dies, however it dies, so a crashed job never
leaves a stale lock behind for the next cron run.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from connector.errors import SyncInProgress


@contextmanager
def client_lock(folder: Path, client: str) -> Iterator[None]:
    """Hold `folder/job.lock` for the duration, or raise `SyncInProgress` if another process has it."""
    path = folder / "job.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncInProgress(f"another job is already running for client '{client}' "
                                 f"(lock {path}); wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def job_running(folder: Path) -> bool:
    """Whether the process that last took this client's lock is still alive: a run the store records as
    running whose process is gone was killed before it could say so.

    The pid is read rather than the lock probed: a probe holding the lock for an instant could make a job
    starting at that instant give up with `SyncInProgress`.  (A pid reused since can only make this say
    "running" when it is not: the safe side.)"""
    try:
        pid = int((folder / "job.lock").read_text() or 0)
    except (FileNotFoundError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # (alive, another user's)
        return True
    return True
