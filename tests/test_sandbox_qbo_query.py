"""The sandbox's QBO query language, run over real QBO sandbox records (tests/data/qbo, MIT, Airbyte)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from connector.sandbox.qbo_query import QueryError, fault, parse, run

RECORDS = json.loads((Path(__file__).parent / "data" / "qbo" / "sandbox_records.json").read_text())


def query(text: str) -> dict:
    q = parse(text)
    return run(q, RECORDS[q.entity])


def ids(response: dict, entity: str) -> list[str]:
    return [r["Id"] for r in response.get(entity, [])]


def test_select_all_pages_with_one_based_startposition() -> None:
    everyone = ids(query("SELECT * FROM Invoice ORDERBY Id"), "Invoice")
    assert len(everyone) == 5
    first = query("SELECT * FROM Invoice ORDER BY Id STARTPOSITION 1 MAXRESULTS 2")
    assert (ids(first, "Invoice"), first["startPosition"], first["maxResults"]) == (everyone[:2], 1, 2)
    assert ids(query("SELECT * FROM Invoice ORDER BY Id STARTPOSITION 3 MAXRESULTS 2"), "Invoice") == everyone[2:4]
    assert query("SELECT * FROM Invoice STARTPOSITION 6 MAXRESULTS 2") == {}  # past the end: empty QueryResponse


def test_count_and_where_with_numbers_references_and_like() -> None:
    assert query("select count(*) from Invoice") == {"totalCount": 5}
    open_ones = query("SELECT * FROM Invoice WHERE Balance > '0'")["Invoice"]
    assert open_ones and all(r["Balance"] > 0 for r in open_ones)
    customer = RECORDS["Invoice"][0]["CustomerRef"]["value"]
    mine = query(f"SELECT * FROM Invoice WHERE CustomerRef = '{customer}'")["Invoice"]
    assert {r["CustomerRef"]["value"] for r in mine} == {customer}
    name = RECORDS["Customer"][0]["DisplayName"]
    like = query(f"SELECT * FROM Customer WHERE DisplayName LIKE '{name[:3]}%'")["Customer"]
    assert name in [r["DisplayName"] for r in like]
    listed = ids(query(f"SELECT * FROM Invoice WHERE Id IN ('{RECORDS['Invoice'][0]['Id']}', 'nope')"), "Invoice")
    assert listed == [RECORDS["Invoice"][0]["Id"]]


def test_timestamps_compare_as_instants_whatever_their_offset() -> None:
    stamps = sorted(r["MetaData"]["LastUpdatedTime"] for r in RECORDS["Invoice"])
    middle = stamps[2]  # like 2023-02-18T13:13:33-08:00
    in_utc = query(f"SELECT * FROM Invoice WHERE Metadata.LastUpdatedTime >= '{middle}'")
    as_utc = dt.datetime.fromisoformat(middle).astimezone(dt.UTC).isoformat()
    assert ids(in_utc, "Invoice") == ids(query(f"SELECT * FROM Invoice WHERE Metadata.LastUpdatedTime >= "
                                              f"'{as_utc}'"), "Invoice")
    ordered = query("SELECT * FROM Invoice ORDER BY Metadata.LastUpdatedTime DESC")["Invoice"]
    times = [dt.datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]) for r in ordered]
    assert times == sorted(times, reverse=True)


def test_inactive_customers_are_left_out_unless_the_query_asks() -> None:
    records = [dict(RECORDS["Customer"][0], Id="900", Active=False), *RECORDS["Customer"]]
    assert "900" not in ids(run(parse("SELECT * FROM Customer"), records), "Customer")
    assert "900" in ids(run(parse("SELECT * FROM Customer WHERE Active IN (true, false)"), records), "Customer")
    assert ids(run(parse("SELECT * FROM Customer WHERE Active = false"), records), "Customer") == ["900"]


def test_backslash_escaped_quotes() -> None:
    records = [{"Id": "1", "DisplayName": "O'Brien & Sons", "Active": True}]
    assert ids(run(parse(r"SELECT * FROM Customer WHERE DisplayName = 'O\'Brien & Sons'"), records), "Customer") == ["1"]


@pytest.mark.parametrize("text, complaint", [
    ("SELECT Id FROM Invoice", "Only SELECT *"),
    ("SELECT * FROM Invoice WHERE Balance > 0 OR Balance < 0", "OR is not supported"),
    ("SELECT * FROM Invoice WHERE Balance != 0", "unexpected text"),
    ("SELECT * FROM Invoice MAXRESULTS 5000", "MAXRESULTS must be between 1 and 1000"),
    ("SELECT * FROM Invoice WHERE DisplayName = 'unterminated", "unexpected text"),
    ("SELECT * FROM", "Unexpected end of query"),
    ("SELECT * FROM Invoice GROUP BY CustomerRef", "where STARTPOSITION, MAXRESULTS or the end was expected"),
])
def test_malformed_queries_are_refused_with_a_fault(text: str, complaint: str) -> None:
    with pytest.raises(QueryError, match=complaint) as caught:
        parse(text)
    body = fault(caught.value, "2026-11-23T08:00:00.000-08:00")
    (error,) = body["Fault"]["Error"]
    assert (body["Fault"]["type"], error["code"], error["Message"]) == ("ValidationFault", "4000", "Error parsing query")
