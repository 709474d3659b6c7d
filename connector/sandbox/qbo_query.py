"""The QuickBooks Online query language, as the sandbox's QBO emulator answers it.

`SELECT * | COUNT(*) FROM Entity [WHERE cond [AND cond]…] [ORDER BY|ORDERBY field [ASC|DESC][, …]]
[STARTPOSITION n] [MAXRESULTS m]`, with conditions `field (= | < | > | <= | >= | LIKE) value` or
`field IN (value, …)`.  Strings are single-quoted with backslash escapes (`'O\\'Brien'`); `LIKE` knows
only `%`.  Field paths are case-insensitive (`Metadata.LastUpdatedTime` finds `MetaData`), a reference
(`CustomerRef`) compares by its `value`, timestamps compare as instants and numbers as numbers.  Paging
is 1-based, 100 rows by default and 1000 at most.  Name-list entities leave inactive rows out unless the
query mentions `Active`.  Anything else is a `QueryError`, which the emulator returns as a Fault (4000).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

NAME_LISTS = frozenset({"customer", "vendor", "employee", "item", "account", "term", "class", "department"})
MAX_RESULTS, DEFAULT_RESULTS = 1000, 100
_TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|=|<|>|\(|\)|,|\*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
)""", re.X)


class QueryError(ValueError):
    """A query the real API would refuse, with the parser's complaint."""


T = TypeVar("T")


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool = False
    where: tuple[Condition, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()  # (path, descending)
    start: int = 1
    max_results: int = DEFAULT_RESULTS
    mentions_active: bool = field(default=False, compare=False)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, at = [], 0
    text = text.strip().rstrip(";")
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            raise QueryError(f"Encountered unexpected text at position {at}: {text[at:at + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        at = match.end()
        while at < len(text) and text[at].isspace():
            at += 1
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError("Unexpected end of query")
        self.at += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() in words:
            self.at += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            found = self.peek()
            raise QueryError(f"Expected {word} but found {found[1] if found else 'end of query'}")

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return Decimal(text)
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise QueryError(f"Expected a value but found {text!r}")

    def integer(self, what: str) -> int:
        kind, text = self.take()
        if kind != "number" or not text.isdigit():
            raise QueryError(f"{what} needs a whole number, not {text!r}")
        return int(text)


def parse(text: str) -> Query:
    """Parse a query, or raise `QueryError` saying where it went wrong."""
    p = _Parser(text)
    p.expect("SELECT")
    count = False
    if p.keyword("COUNT"):
        if [p.take()[1] for _ in range(3)] != ["(", "*", ")"]:
            raise QueryError("COUNT takes (*)")
        count = True
    elif p.take() != ("op", "*"):
        raise QueryError("Only SELECT * and SELECT COUNT(*) are supported")
    p.expect("FROM")
    kind, entity = p.take()
    if kind != "word":
        raise QueryError(f"Expected an entity name, found {entity!r}")
    where = _conditions(p) if p.keyword("WHERE") else []
    order: list[tuple[str, bool]] = []
    if p.keyword("ORDERBY"):
        order = _order(p)
    elif p.keyword("ORDER"):
        p.expect("BY")
        order = _order(p)
    start, max_results = 1, DEFAULT_RESULTS
    while p.peek():
        if p.keyword("STARTPOSITION"):
            start = max(1, p.integer("STARTPOSITION"))
        elif p.keyword("MAXRESULTS"):
            max_results = p.integer("MAXRESULTS")
            if not 1 <= max_results <= MAX_RESULTS:
                raise QueryError(f"MAXRESULTS must be between 1 and {MAX_RESULTS}")
        else:
            token = p.peek()
            raise QueryError(f"Encountered {token[1] if token else ''!r} where STARTPOSITION, MAXRESULTS or the end "
                             "was expected")
    mentions = any(c.path.lower() == "active" for c in where)
    return Query(entity, count, tuple(where), tuple(order), start, max_results, mentions)


def _conditions(p: _Parser) -> list[Condition]:
    conditions = []
    while True:
        kind, path = p.take()
        if kind != "word" or path.upper() in ("AND", "OR"):
            raise QueryError(f"Expected a field name, found {path!r}")
        if p.keyword("IN"):
            if p.take() != ("op", "("):
                raise QueryError("IN takes a parenthesised list")
            values = [p.value()]
            while p.peek() == ("op", ","):
                p.take()
                values.append(p.value())
            if p.take() != ("op", ")"):
                raise QueryError("IN list not closed")
            conditions.append(Condition(path, "IN", tuple(values)))
        elif p.keyword("LIKE"):
            conditions.append(Condition(path, "LIKE", (p.value(),)))
        else:
            kind, op = p.take()
            if kind != "op" or op not in ("=", "<", ">", "<=", ">="):
                raise QueryError(f"Unsupported operator {op!r}")
            conditions.append(Condition(path, op, (p.value(),)))
        if p.keyword("OR"):
            raise QueryError("OR is not supported")
        if not p.keyword("AND"):
            return conditions


def _order(p: _Parser) -> list[tuple[str, bool]]:
    order = []
    while True:
        kind, path = p.take()
        if kind != "word":
            raise QueryError(f"Expected a field to order by, found {path!r}")
        descending = p.keyword("DESC")
        if not descending:
            p.keyword("ASC")
        order.append((path, descending))
        if p.peek() != ("op", ","):
            return order
        p.take()


_SPELLINGS: dict[str, str] = {}  # a path part as queried → the key's spelling last found in a record


def lookup(record: Mapping[str, Any], path: str) -> Any:
    """A field by dotted path, case-insensitively; a reference gives its `value`."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict | Mapping):
            return None
        if part in value:
            value = value[part]
            continue
        spelling = _SPELLINGS.get(part)
        if spelling is None or spelling not in value:
            spelling = next((k for k in value if k.lower() == part.lower()), None)
            if spelling is None:
                value = None
                continue
            _SPELLINGS[part] = spelling
        value = value[spelling]
    if isinstance(value, Mapping) and "value" in value:
        value = value["value"]
    return value


_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    text = str(value)
    if _INSTANT.match(text):
        try:
            moment = dt.datetime.fromisoformat(text)
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        except ValueError:
            return text
    try:
        return Decimal(text) if _NUMBER.match(text) else text
    except InvalidOperation:
        return text


def _matches(record: Mapping[str, Any], condition: Condition) -> bool:
    actual = _comparable(lookup(record, condition.path))
    wanted = [_comparable(v) for v in condition.values]
    if condition.op == "IN":
        return actual in wanted
    if condition.op == "LIKE":
        pattern = "^" + ".*".join(re.escape(part) for part in str(condition.values[0]).split("%")) + "$"
        return actual is not None and re.match(pattern, str(actual), re.I | re.S) is not None
    if actual is None:
        return False
    try:
        return {"=": actual == wanted[0], "<": actual < wanted[0], ">": actual > wanted[0],
                "<=": actual <= wanted[0], ">=": actual >= wanted[0]}[condition.op]
    except TypeError:
        return False


def select(query: Query, records: Iterable[tuple[Mapping[str, Any], T]]) -> list[T]:
    """The items the query's WHERE keeps, in its ORDER BY order (before paging).

    `records` pairs each record's fields with what to answer for it (the record itself, or its wire JSON);
    only the fields are looked at, and only the answers, with their sort keys, are kept.
    """
    name_list = query.entity.lower() in NAME_LISTS and not query.mentions_active
    kept: list[tuple[tuple[Any, ...], T]] = []
    for record, answer in records:
        if all(_matches(record, c) for c in query.where) and not (name_list and lookup(record, "Active") is False):
            kept.append((tuple(_sort_key(_comparable(lookup(record, path))) for path, _ in query.order), answer))
    for position in reversed(range(len(query.order))):
        kept.sort(key=lambda pair: pair[0][position], reverse=query.order[position][1])
    return [answer for _, answer in kept]


def page(query: Query, rows: list[Any]) -> dict[str, Any]:
    """The `QueryResponse` body for the selected rows: a count, one page, or `{}` past the end."""
    if query.count:
        return {"totalCount": len(rows)}
    chosen = rows[query.start - 1: query.start - 1 + query.max_results]
    if not chosen:
        return {}
    return {query.entity: chosen, "startPosition": query.start, "maxResults": len(chosen)}


def run(query: Query, records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The `QueryResponse` body for `query` over the entity's records (already of that entity)."""
    return page(query, select(query, ((r, r) for r in records)))


def _sort_key(comparable: Any) -> tuple[bool, int, Any]:
    """Missing values last, then instants, numbers and text, each in its own order."""
    if isinstance(comparable, dt.datetime):
        return (False, 0, comparable.timestamp())
    if isinstance(comparable, Decimal):
        return (False, 1, comparable)
    return (comparable is None, 2, str(comparable))


def fault(error: QueryError, now: str) -> dict[str, Any]:
    """The Fault body QBO returns for a query it cannot parse."""
    return {"Fault": {"Error": [{"Message": "Error parsing query", "Detail": f"QueryParserError: {error}",
                                 "code": "4000"}], "type": "ValidationFault"}, "time": now}
