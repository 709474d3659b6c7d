"""Full sync of a sandbox company per host: records per second, data calls against the minimum, peak RSS,
and the floor: the same pages, already fetched, parsed with `json.loads` and inserted with one
`executemany` (the best of three runs, since a floor is the least it can take), once as ids alone and once
as ids with each record's JSON (the floor the target is measured against; see `floor`).

The sandbox runs in this process with its rate limits off, and each client's own limiter is lifted through
its `[limits]` table (at Xero's real 55 calls a minute a big first sync is limit-bound by design).  Each
sync runs in a child process; its peak RSS is the child's own.  Pages are served warm: each host's pages
are fetched once, with the adapters' own queries, before the sync is timed.

    python benchmarks/host_sync.py --invoices 100000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import requests
from child import run_connector

from connector.adapters import quickbooks, xero
from connector.config import Workspace
from connector.sandbox.company import CompanySpec
from connector.sandbox.consent import CLIENT_ID, SECRET, code_flow, connect_client
from connector.sandbox.server import SandboxServer


def configure(workspace: Workspace, server: SandboxServer, host: str) -> str:
    """A client of the sandbox whose own limiter is lifted too (the sandbox's limits are off)."""
    key = connect_client(workspace, server, host)
    file = workspace.client_file(key)
    file.write_text(file.read_text() + "\n[limits]\nper_minute = 100000\nconcurrent = 8\nper_day = 1000000\n")
    return key


def sync(workspace: Workspace, key: str) -> tuple[float, float, dict]:
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(workspace.config_dir), "CONNECTOR_DATA_DIR": str(workspace.data_dir),
           "QBO_CLIENT_ID": CLIENT_ID, "QBO_CLIENT_SECRET": SECRET, "XERO_CLIENT_ID": CLIENT_ID,
           "XERO_CLIENT_SECRET": SECRET}
    seconds, peak, output = run_connector(["sync", key], env)
    return seconds, peak, output["clients"][0]


def pages(server: SandboxServer, host: str) -> list[bytes]:
    """Every page of every entity, raw, fetched with the very queries the adapters send (so that the sync
    is served from the sandbox's caches, and what is measured is the client)."""
    token = code_flow(server, "qbo" if host == "quickbooks" else "xero")["access_token"]
    bodies = []
    if host == "quickbooks":
        for entity, _ in quickbooks.ENTITIES:
            where = " WHERE Active IN (true, false)" if entity == "Customer" else ""
            start = 1
            while True:
                answer = requests.get(f"{server.url}/v3/company/{server.app.config['REALM']}/query", timeout=300,
                                      headers={"Authorization": f"Bearer {token}"}, params={
                                          "query": f"SELECT * FROM {entity}{where} ORDERBY Metadata.LastUpdatedTime "
                                                   f"STARTPOSITION {start} MAXRESULTS 1000"})
                bodies.append(answer.content)
                count = len(answer.json()["QueryResponse"].get(entity, []))
                if count < 1000:
                    break
                start += count
    else:
        for entity, _, _, where in xero.ENDPOINTS:
            page = 1
            while True:
                params = {"page": page, "pageSize": 1000, "order": "UpdatedDateUTC ASC",
                          **({"where": where} if where else {})}
                answer = requests.get(f"{server.url}/api.xro/2.0/{entity}", params=params, timeout=300,
                                      headers={"Authorization": f"Bearer {token}",
                                               "xero-tenant-id": server.app.config["TENANT"]})
                bodies.append(answer.content)
                if page >= answer.json()["pagination"]["pageCount"]:
                    break
                page += 1
    return bodies


def floor(bodies: list[bytes], *, with_records: bool) -> tuple[float, int]:
    """json.loads every page and insert its records with one executemany: the least any sync can do.

    `with_records=True` is the floor the issue names, "the same records parsed with `json.loads` and
    inserted with one `executemany`": each record's id and its JSON text, since a dict from `json.loads`
    has to be written out again to be inserted, and the store keeps each record's host JSON beside it.
    `with_records=False` inserts each record's id alone: not the records, but printed too, as the lowest
    bound there is (and the floor this benchmark printed before 2026-11-29).
    """
    started = time.perf_counter()
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE r (id TEXT, body TEXT)")
    rows: list[tuple[str, str]] = []
    for body in bodies:
        data = json.loads(body)
        items = next((v for v in (data.get("QueryResponse") or data).values() if isinstance(v, list)), [])
        rows += [(str(i.get("Id") or next(iter(i.values()))), json.dumps(i) if with_records else "") for i in items]
    conn.executemany("INSERT INTO r VALUES (?, ?)", rows)
    conn.commit()
    return time.perf_counter() - started, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="connector-bench-") as temp, \
            SandboxServer(CompanySpec(seed=1, invoices=args.invoices, home_currency="GBP"), rate_limits="off") as server:
        for host in ("quickbooks", "xero"):
            bodies = pages(server, host)  # warms the sandbox's render cache too
            floor_seconds, records = min(floor(bodies, with_records=False) for _ in range(3))  # best of three
            floor_records, _ = min(floor(bodies, with_records=True) for _ in range(3))
            workspace = Workspace(Path(temp) / host / "config", Path(temp) / host / "data")
            key = configure(workspace, server, host)
            seconds, rss, report = sync(workspace, key)
            minimum = sum(math.ceil(c["new"] / 1000) for c in report["entities"].values())
            rows.append((host, report["new"], seconds, rss, report["api_calls"], minimum, floor_seconds,
                         floor_records))
    print(f"{'host':<12}{'records':>9}{'seconds':>9}{'records/s':>11}{'peak RSS MB':>13}{'calls':>7}{'min':>6}"
          f"{'floor s':>9}{'x floor':>9}{'ids only s':>12}{'x':>6}")
    for host, new, seconds, rss, calls, minimum, floor_seconds, floor_records in rows:
        print(f"{host:<12}{new:>9,}{seconds:>9.1f}{new / seconds:>11,.0f}{rss:>13,.0f}{calls:>7}{minimum:>6}"
              f"{floor_records:>9.1f}{seconds / floor_records:>9.1f}"
              f"{floor_seconds:>12.1f}{seconds / floor_seconds:>6.1f}")


if __name__ == "__main__":
    main()
