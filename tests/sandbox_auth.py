"""The sandbox's OAuth helpers, for the tests (they live in the package so that benchmarks share them)."""

from connector.sandbox.consent import CLIENT_ID, REDIRECT, SECRET, code_flow

__all__ = ["CLIENT_ID", "REDIRECT", "SECRET", "code_flow"]
