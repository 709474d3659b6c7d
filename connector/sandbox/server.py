"""Run the sandbox on a loopback port: in a background thread (tests, demo) or in the foreground."""

from __future__ import annotations

import gc
import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connector.sandbox.app import create_app
from connector.sandbox.company import CompanySpec
from connector.sandbox.world import World

DEMO_CLIENTS = {"sandbox-client": "sandbox-secret"}


class _Quiet(WSGIRequestHandler):
    """No line on stderr per request: the demo's and the tests' output stay readable."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log_error(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass  # an injected connection reset is not news


class SandboxServer:
    """A threaded HTTP server for one sandbox world; `with SandboxServer(...) as s: s.url`."""

    def __init__(self, spec: CompanySpec, *, port: int = 0, clients: dict[str, str] | None = None,
                 rate_limits: str = "real") -> None:
        self.world = World.generate(spec)
        self.app = create_app(self.world, clients=clients or DEMO_CLIENTS, rate_limits=rate_limits)
        self.server: BaseWSGIServer = make_server("127.0.0.1", port, self.app, threaded=True,
                                                  request_handler=_Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, name="sandbox", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> SandboxServer:
        _freeze()
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        gc.unfreeze()

    def serve_forever(self) -> None:
        _freeze()
        self.server.serve_forever()


def _freeze() -> None:
    """Move the company's records out of the garbage collector's sight while the server runs.

    They live as long as the server, and a big company is millions of objects: every full collection
    walked them all (a second each at 100,000 invoices), pausing whatever was serving.
    """
    gc.collect()
    gc.freeze()
