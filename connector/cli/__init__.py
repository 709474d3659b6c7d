"""The `connector` command line: `app` is the Typer application the console script runs."""

# Each module registers its commands on `app`; the import order is the order of `connector --help`.
from connector.cli import ledger  # noqa: F401, I001
from connector.cli import analysis  # noqa: F401
from connector.cli import dunning  # noqa: F401
from connector.cli import tools  # noqa: F401
from connector.cli.common import app

__all__ = ["app"]
