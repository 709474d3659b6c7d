"""`python -m connector` runs the command-line tool."""

from connector.cli import app

app(prog_name="connector")
