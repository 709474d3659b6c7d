"""Reading config files: TOML in, typed models out, or one error naming the file, the key and why."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from connector.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

# Key names that would hold a secret.  `*_env` keys are the allowed way to refer to one; `*_url` keys
# (`token_url`) name endpoints, not secrets.
_SECRET_KEY = re.compile(r"(secret|password|passwd|token|api_?key|private_?key|credential_value)", re.I)
_SECRET_VALUE = re.compile(r"^(eyJ[A-Za-z0-9_-]{10,}|Bearer\s|AB11[A-Za-z0-9]{20,})")


def read_toml(file: Path) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into a `ConfigError` with the line."""
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(str(file), None, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), None, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(file), None, "not UTF-8 text") from None


def literal_secrets(data: Any, path: str = "") -> list[tuple[str, str]]:
    """Find keys that hold what looks like a secret value, as (dotted key, reason) pairs."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            dotted = f"{path}.{_quote(key)}" if path else _quote(key)
            if isinstance(value, (dict, list)):
                found += literal_secrets(value, dotted)
            elif isinstance(value, str) and not key.endswith(("_env", "_url")) and (
                    _SECRET_KEY.search(key) or _SECRET_VALUE.match(value)):
                found.append((dotted, "looks like a literal secret; put it in an environment variable "
                                      "and name that variable in a '*_env' key instead"))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found += literal_secrets(item, f"{path}[{index}]")
    return found


def load_model(model: type[M], source: Path, **context: Any) -> M:
    """Read `source` into `model`, refusing literal secrets, with every problem named by its key.

    `context` adds fields that are not in the file (the client's key, the file it came from); keys of
    the same names in the file are refused as unknown.
    """
    data = read_toml(source)
    named = str(context.get("file", source))
    clash = sorted(set(data) & set(context))
    secrets = literal_secrets(data) + [(key, "unknown key (misspelt, or not valid here)") for key in clash]
    if secrets:
        raise ConfigError.many(named, secrets)
    try:
        return model.model_validate({**data, **context})
    except ValidationError as exc:
        raise ConfigError.many(named, [_describe(err) for err in exc.errors()]) from None


def _describe(error: Any) -> tuple[str, str]:
    loc = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{_quote(part)}" if key else _quote(part))
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        message = "unknown key (misspelt, or not valid here)"
    elif kind == "missing":
        message = "required key is missing"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    elif "input" in error and not isinstance(error["input"], (dict, list)):
        message = f"{message} (got {error['input']!r})"
    return key or "(top level)", message


def _quote(key: str) -> str:
    return key if re.match(r"^[A-Za-z0-9_-]+$", key) else f'"{key}"'
