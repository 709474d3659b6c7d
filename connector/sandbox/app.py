"""The sandbox's HTTP face: one Flask app serving both hosts at their real paths.

A client moves between the sandbox and the real host by changing host names only.  Each host has its own
token service (QBO: 1-hour access tokens; Xero: 30 minutes), and one company per host: a QuickBooks realm
and a Xero tenant over the same generated books.
"""

from __future__ import annotations

import uuid

from flask import Flask

from connector.sandbox.control import register_control
from connector.sandbox.guard import Guard, Limits, register_guard
from connector.sandbox.oauth import QBO, XERO, TokenService
from connector.sandbox.qbo_api import register_qbo
from connector.sandbox.wire import OrjsonProvider
from connector.sandbox.world import World
from connector.sandbox.xero_api import register_xero


def create_app(world: World, *, clients: dict[str, str], realm: str = "9130357766900456",
               tenant: str | None = None, rate_limits: str = "real") -> Flask:
    """A Flask app serving the world to the OAuth `clients` (id → secret) as QuickBooks and as Xero."""
    app = Flask("connector-sandbox")
    app.json = OrjsonProvider(app)
    tenant = tenant or str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-tenant/{world.spec.seed}"))
    qbo_tokens, xero_tokens = TokenService(QBO, clients), TokenService(XERO, clients)
    app.config.update(QBO_TOKENS=qbo_tokens, XERO_TOKENS=xero_tokens, REALM=realm, TENANT=tenant, WORLD=world)
    register_guard(app, Guard(Limits(mode=rate_limits)))
    register_qbo(app, world, qbo_tokens, realm)
    register_xero(app, world, xero_tokens, tenant)
    register_control(app, world)
    return app
