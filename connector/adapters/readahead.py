"""Reading the next page while this one is mapped and staged.

A sync alternates between waiting for the host (the network, the host's own work) and our CPU work on the
page it got (mapping, hashing, staging).  Fetching one page ahead in a background thread overlaps the two:
the wait costs nothing while there is a page to work on.  One page ahead, never more: at most three pages
are held (the one worked on, one waiting, one arriving), and the calls made are the calls a plain loop
would make, give or take the one in flight when the consumer stops early (the producer stops at its next
hand-off).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(pages: Iterator[T]) -> Iterator[T]:
    """The same items in the same order, the next one fetched while the caller works on this one.

    An exception raised by `pages` (a refused token, a day limit, a malformed page) is raised here, at the
    point where the caller asks for the page that failed, as a plain loop would.
    """
    handoff: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: object, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                handoff.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not offer(page):
                    return
            offer(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(_END, exc)
        finally:
            close = getattr(pages, "close", None)  # a generator's own clean-up runs in this thread, now
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        # Stopped early (the caller failed or was interrupted): the worker stops at its next hand-off.  It
        # is not waited for, since a call in flight may be sleeping out a host's Retry-After.
        stop.set()
