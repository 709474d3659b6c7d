"""JSON on the wire, written by orjson.

Serialising pages is most of what the sandbox does once a company is rendered (a 1,000-invoice page is about
a megabyte), and the standard library's encoder made it the slowest part of every sync against it.  Same
output as Flask's default provider, except that keys keep the order the renderers give them (the order of
the real hosts' payloads) instead of being sorted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider
from werkzeug.http import http_date

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS


def _default(value: Any) -> Any:
    """What Flask's provider does with the types JSON lacks."""
    if isinstance(value, dt.date):
        return http_date(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    """The wire JSON of one value, as every response writes it, in a bytes object of its own size.

    orjson's result keeps the buffer it was written in (several times the text, for a small document);
    that is nothing for a response but ten times the memory for text kept for every record, hence the copy.
    """
    return memoryview(orjson.dumps(value, default=_default, option=_OPTIONS)).tobytes()


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=_default, option=_OPTIONS).decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        body = orjson.dumps(self._prepare_response_obj(args, kwargs), default=_default,
                            option=_OPTIONS | orjson.OPT_APPEND_NEWLINE)
        return Response(body, mimetype=self.mimetype)  # (the sandbox's app keeps Flask's response class)
