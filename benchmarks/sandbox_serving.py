"""Records per second the sandbox serves in 1,000-record pages of invoices, per host, rate limits off.

Starts the sandbox on loopback with a company of N invoices, then pages through every invoice twice per
host over real HTTP (QBO `query` with STARTPOSITION, Xero `Invoices?page=`): the first pass renders, the
second is served from what the first rendered.  The client runs in a process of its own, as a real one
would, and parses each page with orjson.  Prints a table; asserts nothing.

    python benchmarks/sandbox_serving.py --invoices 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlencode, urlparse

import orjson
import requests

from connector.sandbox.company import CompanySpec
from connector.sandbox.server import DEMO_CLIENTS, SandboxServer

(CLIENT, SECRET), = DEMO_CLIENTS.items()
REDIRECT = "http://127.0.0.1:1/callback"


def token(base: str, consent: str, endpoint: str) -> str:
    query = urlencode({"client_id": CLIENT, "redirect_uri": REDIRECT, "state": "b", "response_type": "code"})
    location = requests.get(f"{base}{consent}?{query}", allow_redirects=False, timeout=30).headers["Location"]
    code = parse_qs(urlparse(location).query)["code"][0]
    return requests.post(f"{base}{endpoint}", auth=(CLIENT, SECRET), timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}).json()["access_token"]


def qbo_pass(session: requests.Session, base: str, bearer: str) -> int:
    seen, start = 0, 1
    while True:
        body = orjson.loads(session.get(f"{base}/v3/company/9130357766900456/query", timeout=300, params={
            "query": f"SELECT * FROM Invoice ORDERBY Id STARTPOSITION {start} MAXRESULTS 1000"},
            headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"}).content)
        page = body["QueryResponse"].get("Invoice", [])
        if not page:
            return seen
        seen, start = seen + len(page), start + len(page)


def xero_pass(session: requests.Session, base: str, bearer: str, tenant: str) -> int:
    seen, page = 0, 1
    while True:
        body = orjson.loads(session.get(f"{base}/api.xro/2.0/Invoices", params={"page": page, "pageSize": 1000},
                                        timeout=300, headers={"Authorization": f"Bearer {bearer}",
                                                              "xero-tenant-id": tenant}).content)
        seen += len(body["Invoices"])
        if page >= body["pagination"]["pageCount"]:
            return seen
        page += 1


def passes(base: str, qbo: str, xero: str, tenant: str) -> list[tuple[str, str, int, float]]:
    """Both passes for both hosts, as (host, pass, records, seconds)."""
    session = requests.Session()
    rows = []
    for host, run in (("QuickBooks", lambda: qbo_pass(session, base, qbo)),
                      ("Xero", lambda: xero_pass(session, base, xero, tenant))):
        for label in ("first pass (rendering)", "second pass (cached)"):
            t = time.perf_counter()
            count = run()
            rows.append((host, label, count, time.perf_counter() - t))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--client", nargs=4, metavar=("URL", "QBO_TOKEN", "XERO_TOKEN", "TENANT"),
                        help=argparse.SUPPRESS)  # the client half, run in its own process
    args = parser.parse_args()
    if args.client:
        print(json.dumps(passes(*args.client)))
        return
    started = time.perf_counter()
    with SandboxServer(CompanySpec(seed=1, invoices=args.invoices), rate_limits="off") as server:
        built = time.perf_counter() - started
        qbo = token(server.url, "/connect/oauth2", "/oauth2/v1/tokens/bearer")
        xero = token(server.url, "/identity/connect/authorize", "/connect/token")
        client = subprocess.run([sys.executable, __file__, "--client", server.url, qbo, xero, server.app.config["TENANT"]],
                                capture_output=True, text=True, check=True)
        rows = json.loads(client.stdout)
    print(f"company of {args.invoices:,} invoices generated in {built:.1f} s")
    print(f"{'host':<12}{'pass':<26}{'records':>10}{'seconds':>9}{'records/s':>12}")
    for host, label, count, seconds in rows:
        print(f"{host:<12}{label:<26}{count:>10,}{seconds:>9.2f}{count / seconds:>12,.0f}")


if __name__ == "__main__":
    main()
