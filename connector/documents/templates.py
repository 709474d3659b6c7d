"""Reminder texts from Jinja templates, chosen by tone and by the kind of customer.

A step names a tone (`friendly`, `overdue`, `firm`, `final`).  For each customer the most specific
template wins: `TONE.KIND.txt.j2` for its kind (`new`, `regular`, `large`, `problem`), else `TONE.txt.j2`.
A practice's own `config/templates/mail/` overrides the packaged ones file by file.  The first line,
`Subject: …`, is the e-mail's subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from jinja2 import (BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined,
                    TemplateNotFound)

KINDS = ("new", "regular", "large", "problem")
LARGE_BALANCE = Decimal("10000")


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    template: str


def customer_kind(segment: str, balance: Decimal, large: Decimal = LARGE_BALANCE) -> str:
    """new and problem customers by segment; large by balance (home currency); regular otherwise."""
    if segment in ("new", "problem"):
        return segment
    return "large" if balance >= large else "regular"


def practice_folder(config_dir: Path) -> Path:
    """Where a practice keeps its own texts, each overriding the packaged one of the same name."""
    return config_dir / "templates" / "mail"


def environment(config_dir: Path | None = None) -> Environment:
    loaders: list[BaseLoader] = [FileSystemLoader(str(practice_folder(config_dir)))] if config_dir else []
    loaders.append(PackageLoader("connector.config", "templates/mail"))
    return Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
                       keep_trailing_newline=True)


def names(env: Environment) -> set[str]:
    """Every template's file name, the practice's and the packaged ones."""
    return set(env.list_templates(extensions=["j2"]))


def missing_kinds(names: set[str], tone: str) -> list[str]:
    """The kinds of customer a tone has no text for among `names`: all of them when it has neither
    `TONE.txt.j2` nor a text per kind.  (A policy is checked with this when it is loaded, so that a mistyped
    tone is an error in the policy file, not a reminder that cannot be written on the day it is due.)"""
    if f"{tone}.txt.j2" in names:
        return []
    return [kind for kind in KINDS if f"{tone}.{kind}.txt.j2" not in names]


def tones(names: set[str]) -> list[str]:
    """Every tone some template among `names` is written for."""
    return sorted({name.split(".", 1)[0] for name in names})


def render(env: Environment, tone: str, kind: str, context: Mapping[str, object]) -> Message:
    """The message for a tone and customer kind; a missing variable is an error, not a blank."""
    for name in (f"{tone}.{kind}.txt.j2", f"{tone}.txt.j2"):
        try:
            template = env.get_template(name)
        except TemplateNotFound:
            continue
        text = template.render(**context)
        first, _, rest = text.partition("\n")
        if not first.startswith("Subject: "):
            raise ValueError(f"template {name} must start with a 'Subject: ' line")
        return Message(first.removeprefix("Subject: ").strip(), rest.lstrip("\n"), name)
    raise ValueError(f"no template for tone '{tone}' (looked for {tone}.{kind}.txt.j2 and {tone}.txt.j2)")
