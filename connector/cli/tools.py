"""The sandbox and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connector.cli.common import (
    app,
    err,
    guard,
    out,
)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Loopback port to listen on (0 picks a free one).")] = 8700,
    seed: Annotated[int, typer.Option(help="Seed of the generated company.")] = 1,
    size: Annotated[int, typer.Option(help="Invoices in the company.")] = 2000,
) -> None:
    """Run the local QuickBooks Online and Xero emulator in the foreground (Ctrl-C stops it)."""
    from connector.sandbox.company import CompanySpec
    from connector.sandbox.server import DEMO_CLIENTS, SandboxServer

    # A big company takes a while to generate (about a minute per million invoices): say so meanwhile.
    with err.status(f"generating a company of {size:,} invoices"):
        server = SandboxServer(CompanySpec(seed=seed, invoices=size), port=port)
    (client_id, secret), = DEMO_CLIENTS.items()
    config = server.app.config
    out.print(f"sandbox on {server.url}\n  QuickBooks: discovery {server.url}/.well-known/openid_sandbox_configuration,"
              f" API {server.url}/v3, realm {config['REALM']}\n  Xero: API {server.url}/api.xro/2.0,"
              f" tokens {server.url}/connect/token, tenant {config['TENANT']}\n  OAuth client: {client_id} / {secret}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("sandbox stopped")


@app.command()
def demo(
    workdir: Annotated[Path | None, typer.Option(help="Keep the demo's files here (default: a temp folder).")] = None,
    size: Annotated[int, typer.Option(help="Invoices in the sample company.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the sample company.")] = 7,
) -> None:
    """Run the whole loop on a bundled sample company; needs no credentials and no network."""
    from connector.demo import run_demo

    guard(lambda: run_demo(out, workdir=workdir, size=size, seed=seed))

