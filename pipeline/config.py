"""The home folder and `config.toml`: where netgarden keeps its store and what it assumes."""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, fields
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
import tomlkit

from pipeline.errors import ConfigError
from pipeline.files import write_private
from pipeline.mail import DEFAULT_MAX_RECIPIENTS, DEFAULT_ROLE_SENDERS, MailPolicy

CONFIG_FILE = "config.toml"
STORE_FILE = "netgarden.sqlite"

CONFIG_TEMPLATE = """\
# netgarden settings. Every key is optional; the values shown are the defaults.

# Region for phone numbers written without a country code (ISO 3166 code, e.g. "GB", "DE").
default_region = "US"

# Time zone in which report dates are counted (IANA name). Empty: this computer's zone.
timezone = ""

# Code page tried for exports that are neither UTF-8 nor declare a charset (Outlook desktop,
# old phones). cp1252 for Western Europe and the Americas, cp932 for Japan, cp1251 for Cyrillic.
windows_codepage = "cp1252"

# The networks file (rules) and the overrides file (e-mail -> network), relative to this folder.
networks_file = "networks.toml"
overrides_file = "overrides.toml"

# Your own e-mail addresses, aliases included. Mail you sent is an exchange with its recipients;
# mail you received, with its sender. Empty: each mail import infers them (for a Google Takeout
# archive, the From of the messages labelled Sent) and says what it inferred.
me = []

# Addresses ("boss@example.com") and domains ("example.org", subdomains included) whose
# exchanges never count.
ignore = []

# Messages with more distinct recipients than this (To, Cc and Bcc, not counting you) are
# announcements, not exchanges.
max_recipients = 20

# Senders that are not people (shell patterns over the whole address). Uncomment to replace
# the built-in list: noreply*@*, no-reply*@*, donotreply*@*, mailer-daemon@*, postmaster@*,
# bounce*@*, *-bounces@*, notification*@*, alerts@*, newsletter*@*, news@*, info@*,
# support@*, help@*, billing@*, invoice*@*, receipts@*, orders@*, marketing@*, webmaster@*,
# admin@*, abuse@*, calendar-notification@*, and a few spelling variants.
# role_senders = ["noreply*@*", "no-reply*@*"]
"""


_Account = TypeVar("_Account", "GmailAccount", "OutlookAccount")


@dataclass(frozen=True)
class GmailAccount:
    """A `[[gmail]]` table: one Google account that `netgarden sync gmail` reads.

    `token_file` is google-auth's authorized-user JSON, relative to the home (`auth gmail`
    writes it); `api_endpoint` is the root URL of a Google-compatible server (empty: Google's).
    """

    account: str
    token_file: str = ""
    quota_units_per_minute: int = 6000
    api_endpoint: str = ""
    backfill_days: int = 365

    def token_path(self, home: Path) -> Path:
        return home / (self.token_file or f"tokens/gmail-{self.account}.json")


@dataclass(frozen=True)
class OutlookAccount:
    """An `[[outlook]]` table: one Microsoft 365 or Outlook.com account.

    `token_cache` is msal's serialized token cache, relative to the home (`auth outlook`
    writes it). `authority` and `graph_endpoint` default to Microsoft's own (set them for
    national clouds, proxies and test servers). With `app_only`, the organisation's app signs
    in with `client_secret_file` (client credentials) and reads the `mailboxes` listed.
    """

    account: str
    client_id: str = ""
    tenant: str = "common"
    token_cache: str = ""
    authority: str = ""
    graph_endpoint: str = ""
    app_only: bool = False
    client_secret_file: str = ""
    mailboxes: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    backfill_days: int = 365

    def cache_path(self, home: Path) -> Path:
        return home / (self.token_cache or f"tokens/outlook-{self.account}.json")

    @property
    def authority_url(self) -> str:
        return self.authority or f"https://login.microsoftonline.com/{self.tenant}"

    @property
    def graph_url(self) -> str:
        return (self.graph_endpoint or "https://graph.microsoft.com/v1.0").rstrip("/")


@dataclass(frozen=True)
class Config:
    """Settings read from `config.toml`; every field has a default."""

    home: Path
    default_region: str = "US"
    timezone: str = ""
    windows_codepage: str = "cp1252"
    networks_file: str = "networks.toml"
    overrides_file: str = "overrides.toml"
    me: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    role_senders: tuple[str, ...] = DEFAULT_ROLE_SENDERS
    gmail: tuple[GmailAccount, ...] = ()
    outlook: tuple[OutlookAccount, ...] = ()

    @property
    def store_path(self) -> Path:
        return self.home / STORE_FILE

    @property
    def networks_path(self) -> Path:
        return self.home / self.networks_file

    @property
    def overrides_path(self) -> Path:
        return self.home / self.overrides_file

    def mail_policy(self) -> MailPolicy:
        """The user's addresses and the noise rules every mail source applies."""
        return MailPolicy(
            me=frozenset(a.strip().lower() for a in self.me if a.strip()),
            ignore=self.ignore,
            role_senders=self.role_senders,
            max_recipients=self.max_recipients,
        )

    def tz(self) -> tzinfo:
        """The zone report dates are counted in."""
        return zone(self.timezone)


def zone(name: str) -> tzinfo:
    """The IANA zone `name`, else (empty) this computer's zone."""
    if name:
        return ZoneInfo(name)
    local = datetime.now().astimezone().tzinfo
    assert local is not None  # astimezone() always attaches a zone
    return local


def resolve_home(explicit: str | Path | None) -> Path:
    """`--home`, else `$NETGARDEN_HOME`, else the platform's user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("NETGARDEN_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("netgarden", appauthor=False))


def load_config(home: Path) -> Config:
    """Read `home/config.toml` if it exists; a missing file means all defaults."""
    path = home / CONFIG_FILE
    if not path.exists():
        return Config(home=home)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    known = {f.name: f.type for f in fields(Config)}
    del known["home"]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            hint = difflib.get_close_matches(key, sorted(known), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"{path}: unknown setting '{key}'{suggestion}")
        if key == "gmail":
            values[key] = _accounts(path, "gmail", value, GmailAccount)
        elif key == "outlook":
            values[key] = _accounts(path, "outlook", value, OutlookAccount)
        else:
            values[key] = _typed(path, key, value, str(known[key]))
    config = Config(home=home, **values)
    if config.timezone:
        try:
            ZoneInfo(config.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{path}: unknown timezone '{config.timezone}'") from None
    for gmail in config.gmail:
        if gmail.quota_units_per_minute < 100:
            raise ConfigError(f"{path}: 'quota_units_per_minute' must be at least 100")
    for outlook in config.outlook:
        if not outlook.client_id:
            raise ConfigError(f"{path}: [[outlook]] {outlook.account!r} needs a 'client_id'")
    if config.max_recipients < 1:
        raise ConfigError(f"{path}: 'max_recipients' must be at least 1")
    bad = [a for a in config.me if "@" not in a]
    if bad:
        raise ConfigError(f"{path}: 'me' holds {bad[0]!r}, which is not an e-mail address")
    try:
        "".encode(config.windows_codepage)
    except LookupError:
        raise ConfigError(f"{path}: unknown code page '{config.windows_codepage}'") from None
    return config


def _typed(path: Path, key: str, value: object, kind: str) -> object:
    """A setting's value checked against its declared type (str, int or a list of strings)."""
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{path}: '{key}' must be a string")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: '{key}' must be a whole number")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: '{key}' must be true or false")
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{path}: \'{key}\' must be a list of strings, like ["a", "b"]')
    return tuple(value)


def _accounts(path: Path, kind: str, value: object, cls: type[_Account]) -> tuple[_Account, ...]:
    """The `[[gmail]]` or `[[outlook]]` tables, each checked like the top-level settings."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{path}: '{kind}' must be [[{kind}]] tables")
    known = {f.name: str(f.type) for f in fields(cls)}
    accounts: list[_Account] = []
    for table in value:
        values: dict[str, Any] = {}
        for key, item in table.items():
            if key not in known:
                hint = difflib.get_close_matches(key, sorted(known), n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise ConfigError(f"{path}: unknown [[{kind}]] setting '{key}'{suggestion}")
            values[key] = _typed(path, f"{kind}.{key}", item, known[key])
        if not values.get("account"):
            raise ConfigError(f"{path}: a [[{kind}]] table needs an 'account' name")
        account = cls(**values)
        if any(a.account == account.account for a in accounts):
            raise ConfigError(f"{path}: two [[{kind}]] tables are called {account.account!r}")
        accounts.append(account)
    return tuple(accounts)


def ensure_home(home: Path) -> None:
    """Create the home if needed; it holds personal data, so only its owner may enter it."""
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)


def pick_account(
    tables: tuple[_Account, ...],
    kind: str,
    account: str | None,
    *,
    client_id: str | None = None,
    tenant: str | None = None,
) -> _Account | None:
    """The `[[kind]]` table `auth` signs in for; None for a new account.

    With `account`, the table of that name. Without: the one table whose `client_id` (and
    `tenant`, when given) are these, else the only table when no client id was given, else the
    table named `default`. ConfigError when several tables fit and none is called `default`.
    """
    if account is not None:
        return next((t for t in tables if t.account == account), None)
    fits = list(tables)
    if client_id:
        fits = [t for t in fits if getattr(t, "client_id", "") == client_id]
    if tenant:
        fits = [t for t in fits if getattr(t, "tenant", "") == tenant]
    if len(fits) == 1:
        return fits[0]
    named = next((t for t in fits if t.account == "default"), None)
    if len(fits) > 1 and named is None:
        names = ", ".join(repr(t.account) for t in fits)
        raise ConfigError(f"several [[{kind}]] tables fit ({names}); say which with --account NAME")
    return named


def add_account_table(home: Path, kind: str, values: dict[str, str]) -> Path:
    """Append a `[[kind]]` table to config.toml (made if missing), keeping every line already
    there; written by a TOML library, so any name is quoted as TOML wants. Returns the file."""
    path = home / CONFIG_FILE
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8") if path.exists() else "")
    except (tomlkit.exceptions.ParseError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    table = tomlkit.table()
    for key, value in values.items():
        table.add(key, value)
    tables = document.get(kind)
    if tables is None:
        tables = tomlkit.aot()
        tables.append(table)
        document.append(kind, tables)
    elif isinstance(tables, tomlkit.items.AoT):
        tables[-1].add(tomlkit.nl())
        tables.append(table)
    else:
        raise ConfigError(f"{path}: '{kind}' must be [[{kind}]] tables")
    write_private(path, tomlkit.dumps(document))
    return path
