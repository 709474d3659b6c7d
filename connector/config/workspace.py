"""Where a practice keeps its files: the config folder (clients, policies, templates) and the data folder.

A consultant runs many clients from one config folder; each client gets its own folder under the data
folder (its store, its token file, its mail), so that clients never share a file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from connector.config.loading import load_model
from connector.config.models import ClientConfig, Host, Policy
from connector.documents import templates
from connector.errors import ConfigError, UsageError

_CLIENT_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _template(name: str) -> str:
    return (resources.files("connector.config") / "templates" / name).read_text(encoding="utf-8")


def _toml_text(value: str) -> str:
    """Escape a value for a TOML basic string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True)
class Workspace:
    """The config folder and the data folder a command works in."""

    config_dir: Path
    data_dir: Path

    @classmethod
    def from_env(cls, config_dir: Path | None = None, data_dir: Path | None = None) -> Workspace:
        """Folders from the options, else CONNECTOR_CONFIG_DIR / CONNECTOR_DATA_DIR, else ./config, ./data."""
        return cls(
            config_dir=Path(config_dir or os.environ.get("CONNECTOR_CONFIG_DIR") or "config"),
            data_dir=Path(data_dir or os.environ.get("CONNECTOR_DATA_DIR") or "data"),
        )

    @property
    def clients_dir(self) -> Path:
        return self.config_dir / "clients"

    def client_file(self, key: str) -> Path:
        if not _CLIENT_KEY.match(key):
            raise UsageError(f"'{key}' is not a client name: use letters, digits, '-', '_' or '.'")
        return self.clients_dir / f"{key}.toml"

    def client_keys(self) -> list[str]:
        """Every client with a config file, in name order."""
        if not self.clients_dir.is_dir():
            return []
        return sorted(p.stem for p in self.clients_dir.glob("*.toml"))

    def load_client(self, key: str) -> ClientConfig:
        """Read and validate one client's config; an unknown client is a usage error."""
        file = self.client_file(key)
        if not file.exists():
            known = ", ".join(self.client_keys()) or "none yet; create one with `connector init`"
            raise UsageError(f"no client '{key}' in {self.clients_dir} (clients: {known})")
        return load_model(ClientConfig, file, key=key, file=file)

    def policy_file(self, name: str) -> Path:
        return self.config_dir / "policies" / f"{name}.toml"

    def load_policy(self, name: str) -> Policy:
        """A policy from `policies/NAME.toml`; "default" falls back to the packaged default policy (which
        creating a client copies there)."""
        file = self.policy_file(name)
        if file.exists():
            return self._with_templates(load_model(Policy, file, key=name, file=file))
        if name == "default":
            with resources.as_file(resources.files("connector.config") / "templates" / "policy_default.toml") as f:
                return self._with_templates(load_model(Policy, f, key=name, file=f))
        raise ConfigError(str(file), None, f"policy '{name}' not found")

    def _with_templates(self, policy: Policy) -> Policy:
        """The policy, once every template its steps name has a text for every kind of customer (in the
        practice's `templates/mail/` or among the packaged ones): a mistyped tone is refused here, where a
        consultant sees it (`clients` lists it), not when the reminder is due."""
        known = templates.names(templates.environment(self.config_dir))
        own = templates.practice_folder(self.config_dir)
        problems = []
        for n, step in enumerate(policy.steps):
            missing = templates.missing_kinds(known, step.template) if step.template else []
            if len(missing) == len(templates.KINDS):
                problems.append((f"steps[{n}].template", f"step '{step.name}' names template '{step.template}', "
                                 f"but there is no {step.template}.txt.j2 in {own} nor among the packaged "
                                 f"templates (tones: {', '.join(templates.tones(known))})"))
            elif missing:
                problems.append((f"steps[{n}].template", f"template '{step.template}' (step '{step.name}') has no "
                                 f"text for {', '.join(missing)} customers: add {step.template}.txt.j2 to {own} "
                                 "(it serves every kind without a text of its own)"))
        if problems:
            raise ConfigError.many(str(policy.file), problems)
        return policy

    def client_data_dir(self, key: str) -> Path:
        """The client's own data folder, created private (mode 0700) on first use."""
        folder = self.data_dir / key
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    def store_path(self, key: str) -> Path:
        return self.client_data_dir(key) / "store.sqlite"

    def create_client(self, key: str, host: Host, *, name: str | None = None, path: str | None = None,
                      timezone: str = "UTC", currency: str = "USD", force: bool = False) -> Path:
        """Write `clients/KEY.toml` from the commented template for the host, then validate it.

        A relative csv `path` is taken from the current folder, where the person or script calling typed it,
        and written absolute: the config resolves relative paths from its own folder, which is not where
        `./ledger` meant."""
        file = self.client_file(key)
        if file.exists() and not force:
            raise UsageError(f"{file} already exists; edit it, or pass --force to overwrite it")
        if host == "csv" and not path:
            raise UsageError("a csv client needs --path, the folder holding its CSV files")
        if host != "csv" and path:
            raise UsageError("--path is only for csv clients")
        text = Template(_template(f"client_{host}.toml")).substitute(
            key=key, name=_toml_text(name or key), path=_toml_text(str(Path(path).resolve()) if path else ""),
            timezone=_toml_text(timezone), currency=_toml_text(currency))
        file.parent.mkdir(parents=True, exist_ok=True)
        staged = file.with_suffix(".toml.new")
        staged.write_text(text, encoding="utf-8")
        try:
            load_model(ClientConfig, staged, key=key, file=file)
        except ConfigError:
            staged.unlink()
            raise
        staged.replace(file)
        self._write_default_policy()
        return file

    def _write_default_policy(self) -> None:
        """Put the packaged default policy in `policies/default.toml` unless one is there: the policy every
        client follows unless its config names another is then a file the practice can read and edit,
        rather than one hidden in the installed package."""
        file = self.policy_file("default")
        if file.exists():
            return
        file.parent.mkdir(parents=True, exist_ok=True)
        staged = file.with_suffix(".toml.new")
        staged.write_text(_template("policy_default.toml"), encoding="utf-8")
        staged.replace(file)
