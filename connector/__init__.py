"""Accounts-receivable collections connector for QuickBooks Online, Xero and CSV ledgers."""

__version__ = "0.1.0"
