"""The sandbox's QBO records have the keys, nesting and value formats of real QBO sandbox records."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox import qbo_json
from connector.sandbox.company import CompanySpec
from connector.sandbox.world import World

REAL = json.loads((Path(__file__).parent / "data" / "qbo" / "sandbox_records.json").read_text())
# Keys the sandbox writes that the five real records happen not to show: ExchangeRate (multi-currency
# companies) and PrivateNote (a voided invoice's "Voided"; python-quickbooks defaults it to "").
EXTRA_OK = {"Invoice": {"ExchangeRate", "PrivateNote"}, "Customer": set(), "Payment": set(), "CreditMemo": set()}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return "date"
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[-+]\d{2}:\d{2}", value):
            return "instant with offset"
        return "string"
    return type(value).__name__


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return kind(value)


def union(shapes: list[Any]) -> Any:
    """Merge the shapes of several real records: every key any of them has."""
    merged: dict[str, Any] = {}
    for s in shapes:
        for k, v in s.items():
            merged[k] = union([merged[k], v]) if isinstance(v, dict) and isinstance(merged.get(k), dict) else \
                merged.get(k, v)
    return merged


def differences(ours: Any, real: Any, path: str = "") -> list[str]:
    if isinstance(ours, dict) and isinstance(real, dict):
        found = []
        for key, value in ours.items():
            if key in real:
                found += differences(value, real[key], f"{path}.{key}")
            else:
                found.append(f"{path}.{key}: not in the real records")
        return found
    if isinstance(ours, list) and isinstance(real, list):
        return differences(ours[0], real[0], f"{path}[]") if ours and real else []
    return [] if ours == real else [f"{path}: {ours} where the real records have {real}"]


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(CompanySpec(seed=2, invoices=300, today=dt.date(2026, 6, 30), home_currency="USD"))


@pytest.mark.parametrize("entity", ["Customer", "Invoice", "Payment", "CreditMemo"])
def test_rendered_records_match_the_real_ones(world: World, entity: str) -> None:
    real = union([shape(r) for r in REAL[entity]])
    hosts = world.live(qbo_json.ENTITY_NAMES[entity])
    assert hosts
    for host in hosts[:50]:
        ours = shape(qbo_json.render(world, host))
        problems = [d for d in differences(ours, real)
                    if not any(d == f".{k}: not in the real records" for k in EXTRA_OK[entity])]
        assert problems == [], (entity, host.record.id)
        core = {"Id", "SyncToken", "MetaData", "domain", "sparse", "CurrencyRef"}
        assert core <= set(ours)


XERO = json.loads((Path(__file__).parent / "data" / "xero" / "demo_company_invoices.json").read_text())


def xero_kind(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"/Date\(-?\d+(\+\d{4})?\)/", value):
        return "ms date"
    return kind(value)


def xero_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: xero_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [xero_shape(value[0])] if value else []
    return xero_kind(value)


def test_xero_invoices_match_the_demo_company_ones(world: World) -> None:
    from connector.sandbox import xero_json

    real = union([xero_shape(i) for i in XERO["Invoices"]])
    real["Payments"] = [union([xero_shape(p) for i in XERO["Invoices"] for p in i.get("Payments", [])])]
    real["CreditNotes"] = [union([xero_shape(c) for i in XERO["Invoices"] for c in i.get("CreditNotes", [])])]
    hosts = [h for h in world.records["invoices"].values()]
    paid = [h for h in hosts if world.applied.get(h.record.id)]
    assert paid
    for host in hosts[:30] + paid[:30]:
        ours = xero_shape(xero_json.invoice(world, host))
        ours.pop("LineItems", None)  # the page lists real invoices without their lines
        assert differences(ours, real) == [], host.record.id


def test_a_voided_qbo_invoice_reads_as_qbo_shows_one(world: World) -> None:
    from connector.records import InvoiceStatus

    voided = next(h for h in world.live("invoices") if h.record.status is InvoiceStatus.VOID)
    body = qbo_json.render(world, voided)
    assert (body["TotalAmt"], body["Balance"], body["PrivateNote"]) == (0, 0, "Voided")
