"""Run a reader in a worker process and iterate what it yields, so reading and writing use two cores.

A large csv load is two halves of about equal cost: reading and checking the files (Python), and writing
the rows into SQLite (binding parameters, B-trees).  In one process the two take turns; with the reader in
a worker they overlap.

The worker is a plain `python -m connector.adapters.worker` subprocess, not `multiprocessing`: `fork` would
copy the parent's threads' locks (a progress display runs in a thread), and `spawn` re-imports the
caller's main script, which breaks any script without a `__main__` guard.  The reader is named as
`module:function` with picklable arguments; items come back pickled, a few at a time, over the child's
stdout, which bounds memory (the child blocks when the parent falls behind).  An exception the reader
raises is re-raised in the parent as it was (the reader's own errors carry what the user must see); if
the parent stops early, the child is stopped with it, and if the parent is killed (SIGKILL, the OOM
killer, a timer's stop), the child notices within a second and ends too: an orphan would go on calling
the host, spending its rate limit and perhaps rotating its refresh token under the next run.
"""

from __future__ import annotations

import importlib
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

from connector.errors import ConnectorError

_PARENT = "CONNECTOR_WORKER_PARENT"  # the parent's pid, which the worker watches
_ITEMS_PER_SEND = 8
_SENDS_AHEAD = 8  # sends of up to 8 chunks of 5,000 rows each: at most about 30 MB waiting


class WorkerDied(ConnectorError):
    """The worker process ended without saying why (killed, out of memory, a crash in the interpreter).

    A run failure like a host's: the run is recorded as failed, nothing was merged, and the next run
    starts again.
    """


def iterate_in_worker(target: str, *args: Any) -> Iterator[Any]:
    """Yield what `target(*args)` yields, run in a worker process; `target` is ``"module:function"``."""
    process = subprocess.Popen([sys.executable, "-m", "connector.adapters.worker"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env={**os.environ, _PARENT: str(os.getpid())})
    assert process.stdin is not None and process.stdout is not None
    try:
        pickle.dump((target, args), process.stdin)
        process.stdin.close()
        while True:
            try:
                kind, payload = pickle.load(process.stdout)
            except EOFError:
                code = process.wait()
                raise WorkerDied(f"the reader process ended unexpectedly (exit status {code}); nothing was "
                                 "written: run the sync again") from None
            if kind == "items":
                yield from payload
            elif kind == "raised":
                raise payload
            else:
                return
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.wait()


def _serve(source: BinaryIO, sink: BinaryIO) -> None:
    """Run the reader, sending what it yields; a sender thread writes to the pipe, so the reader keeps
    reading while the parent is busy writing (up to `_SENDS_AHEAD` sends ahead, which bounds memory).

    With only the pipe's 64 KB between them the two took turns: a csv load's invoices are quicker to read
    than to write and its payments the other way round, and each half waited for the other in turn.
    """
    target, args = pickle.load(source)
    module, _, name = target.partition(":")
    sends: queue.Queue[bytes | None] = queue.Queue(maxsize=_SENDS_AHEAD)
    sender = threading.Thread(target=_send, args=(sends, sink), daemon=True)
    sender.start()
    items: list[Any] = []
    try:
        for item in getattr(importlib.import_module(module), name)(*args):
            items.append(item)
            if len(items) >= _ITEMS_PER_SEND:
                sends.put(pickle.dumps(("items", items), protocol=pickle.HIGHEST_PROTOCOL))
                items = []
        ending: tuple[str, Any] = ("done", None)
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        ending = ("raised", _portable(exc))
    sends.put(pickle.dumps(("items", items), protocol=pickle.HIGHEST_PROTOCOL))  # what came before the end
    sends.put(pickle.dumps(ending, protocol=pickle.HIGHEST_PROTOCOL))
    sends.put(None)
    sender.join()


def _portable(exc: Exception) -> Exception:
    """`exc` if it survives the trip to the parent, else a plain error saying what it was.

    Some libraries' exceptions pickle but cannot be unpickled (intuit-oauth's `AuthClientError` needs the
    HTTP response it was made from): the parent then failed with a puzzling `AttributeError` of its own."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
        return exc
    except Exception:  # noqa: BLE001 - whatever stops the round trip
        return RuntimeError(f"{type(exc).__module__}.{type(exc).__name__} in the reader process: {exc}")


def _send(sends: queue.Queue[bytes | None], sink: BinaryIO) -> None:
    while (blob := sends.get()) is not None:
        try:
            sink.write(blob)
            sink.flush()  # the parent is waiting for these, not for a full buffer
        except BrokenPipeError:  # the parent stopped listening: nothing left to do
            os._exit(0)


def _end_with_parent(parent: int) -> None:
    """End this process once `parent` is no longer its parent (it died and the worker was re-parented).

    A worker blocked in the host's HTTP call, or waiting out a 429, would otherwise learn of it only at its
    next send.  (Polling works on every POSIX system; Linux's PR_SET_PDEATHSIG would need ctypes.)"""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _main() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the worker itself, without a second traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent := os.environ.get(_PARENT):
        threading.Thread(target=_end_with_parent, args=(int(parent),), daemon=True).start()
    # The pipe to the parent is a private copy of stdout; whatever a library prints goes to stderr instead,
    # where it cannot corrupt the pickles.
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    try:
        _serve(sys.stdin.buffer, sink)
    except BrokenPipeError:  # the parent stopped listening: nothing left to do
        sys.exit(0)


if __name__ == "__main__":
    _main()
