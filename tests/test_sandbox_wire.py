"""The sandbox's wire details that must never drift: Xero GUIDs, and records kept as their JSON."""

from __future__ import annotations

import json
import uuid

import orjson
import pytest

from connector.sandbox.company import CompanySpec
from connector.sandbox.world import World, guid


@pytest.mark.parametrize("name", ["1/INV-000001", "7/PAY-42/INV-9", "1/Café Ltd — «ü»", "", "x" * 500])
def test_guids_are_exactly_uuid5_so_a_company_keeps_its_ids(name: str) -> None:
    assert guid(name) == str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def test_a_kept_record_is_its_json_and_is_rendered_again_only_after_a_change() -> None:
    world = World.generate(CompanySpec(seed=3, invoices=20))
    host = next(iter(world.records["invoices"].values()))
    renders: list[int] = []

    def render() -> dict[str, object]:
        renders.append(1)
        return {"Id": host.qbo_id, "Total": 12.5, "Name": "Café"}

    (fields, text), = world.listed("test", "invoices", host.record.id, render)
    (again, text_again), = world.listed("test", "invoices", host.record.id, render)
    assert len(renders) == 1 and fields == again == {"Id": host.qbo_id, "Total": 12.5, "Name": "Café"}
    page = orjson.dumps({"Invoices": [text, text_again]})
    assert json.loads(page) == {"Invoices": [fields, fields]}  # spliced into a page as it was kept
    world.delete(host, world.now)
    world.listed("test", "invoices", host.record.id, render)
    assert len(renders) == 2  # the company changed: rendered again
