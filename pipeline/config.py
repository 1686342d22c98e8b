"""The home folder and `config.toml`: where netgarden keeps its store and what it assumes."""

from __future__ import annotations

import codecs
import difflib
import glob
import os
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from pipeline.errors import ConfigError
from pipeline.files import read_settings, write_private
from pipeline.mail import DEFAULT_MAX_RECIPIENTS, DEFAULT_ROLE_SENDERS, MailPolicy
from pipeline.strength import DEFAULT as DEFAULT_LADDER
from pipeline.strength import RUNGS, Ladder
from pipeline.tomllines import TomlLines

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
class FileSource:
    """A `[[files]]` table: a file, a folder or a glob (`~/Downloads/contacts*.vcf`) that
    `netgarden run` imports again when it changed; `format` as `import --format` takes it
    (empty: told from each file's content)."""

    path: str
    format: str = ""

    @property
    def label(self) -> str:
        """How status, history and the run's lines name it."""
        return f"files {self.path}"

    def paths(self, home: Path) -> list[Path]:
        """The files and folders it names now (a glob's matches, sorted); a relative path is
        relative to the home."""
        text = os.path.expanduser(self.path)
        if glob.has_magic(text):
            pattern = text if os.path.isabs(text) else str(home / text)
            return [Path(p) for p in sorted(glob.glob(pattern))]
        path = Path(text)
        return [path if path.is_absolute() else home / path]


#: When the digest is sent: after every run, or only when a source failed or someone is overdue.
DIGEST_WHEN = ("always", "problems")


@dataclass(frozen=True)
class Notify:
    """The `[notify]` table: who hears about unattended runs.

    `ping_url` is a dead man's switch (healthchecks.io and the like): `/start`, then the URL
    itself on success or `/fail` with the log's last lines. `smtp_host` sends an e-mail digest
    to `mail_to`; the password is read from `smtp_password_file` (relative to the home) or the
    environment variable `smtp_password_env`, never from config.toml.
    """

    ping_url: str = ""
    ping_timeout: int = 10
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_user: str = ""
    smtp_password_file: str = ""
    smtp_password_env: str = ""
    mail_from: str = ""
    mail_to: tuple[str, ...] = ()
    digest_when: str = "always"
    digest_top: int = 5


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
    files: tuple[FileSource, ...] = ()
    notify: Notify = Notify()
    #: `[ladder]`: rung name -> the channels on it, replacing that rung's default list.
    ladder: tuple[tuple[str, tuple[str, ...]], ...] = ()

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

    def channel_ladder(self) -> Ladder:
        """Which rung each channel sits on (pipeline.strength), with `[ladder]` applied."""
        return Ladder.of(dict(self.ladder)) if self.ladder else DEFAULT_LADDER


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
    """Read `home/config.toml` if it exists; a missing file means all defaults.

    ConfigError lists every problem of a bad file at once, each with its line."""
    path = home / CONFIG_FILE
    if not path.exists():
        return Config(home=home)
    try:
        text = read_settings(path)
        data = tomllib.loads(text)
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    lines = TomlLines(text)
    problems: list[str] = []

    def problem(where: tuple[str, ...], message: str) -> None:
        number = lines.line(*where)
        problems.append(f"line {number}: {message}" if number else message)

    known = {f.name: f.type for f in fields(Config)}
    del known["home"]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            problem((key,), f"unknown setting '{key}'{_hint(key, known)}")
        elif key in ("gmail", "outlook"):
            cls = GmailAccount if key == "gmail" else OutlookAccount
            values[key] = _accounts(key, value, cls, problem)
        elif key == "files":
            values[key] = _files(value, problem)
        elif key == "notify":
            values[key] = _notify(value, problem)
        elif key == "ladder":
            values[key] = _ladder(value, problem)
        else:
            checked = _typed(key, value, str(known[key]))
            if isinstance(checked, _Wrong):
                problem((key,), checked.message)
            else:
                values[key] = checked
    for key, message in _ranges(values):
        problem((key,), message)
    for index, outlook in enumerate(values.get("outlook", ())):
        if not outlook.client_id:
            problem(("outlook", str(index)), f"[[outlook]] {outlook.account!r} needs a 'client_id'")
    for index, gmail in enumerate(values.get("gmail", ())):
        if gmail.quota_units_per_minute < 100:
            problem(
                ("gmail", str(index), "quota_units_per_minute"),
                "'quota_units_per_minute' must be at least 100",
            )
    if len(problems) == 1:
        raise ConfigError(f"{path}: {problems[0]}")
    if problems:
        raise ConfigError(
            f"{path}: {len(problems)} problems" + "".join(f"\n  {p}" for p in problems)
        )
    return Config(home=home, **values)


def _hint(key: str, known: Iterable[str]) -> str:
    hint = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def _ranges(values: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(key, problem) for settings of the right type but a value that cannot work."""
    timezone = values.get("timezone", "")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            yield "timezone", f"unknown timezone '{timezone}'"
    if values.get("max_recipients", DEFAULT_MAX_RECIPIENTS) < 1:
        yield "max_recipients", "'max_recipients' must be at least 1"
    from pipeline.normalize import normalize_email  # phonenumbers loads slowly: only here

    bad = [a for a in values.get("me", ()) if normalize_email(a) is None]
    if bad:
        yield "me", f"'me' holds {bad[0]!r}, which is not an e-mail address"
    codepage = values.get("windows_codepage", "cp1252")
    if not usable_codepage(codepage):
        yield (
            "windows_codepage",
            f"'{codepage}' is not a code page exports are written in "
            "(cp1252, cp1250, cp1251, cp932, iso-8859-1, ...)",
        )


#: Text that every code page an export may use reads as itself (ASCII): what idna (it
#: lowercases), utf-7 (`+` starts an escape) and the like do not.
_PROBE = b"Hello, World! 0123 +-@._ (Test) ~"


#: Codecs Python has that no file is written in: they transform text rather than store it.
_NOT_CODE_PAGES = frozenset({"idna", "punycode", "undefined", "raw-unicode-escape"})


def usable_codepage(name: str) -> bool:
    """Whether `name` is a text encoding that reads ASCII as ASCII (so it can be an export's)."""
    try:
        info = codecs.lookup(name)
        return (
            bool(getattr(info, "_is_text_encoding", True))
            and info.name not in _NOT_CODE_PAGES
            and not info.name.startswith("unicode")
            and _PROBE.decode(name) == _PROBE.decode("ascii")
        )
    except (LookupError, UnicodeError, ValueError, TypeError):
        return False


@dataclass(frozen=True)
class _Wrong:
    """A setting of the wrong type, and what to write instead."""

    message: str


def _typed(key: str, value: object, kind: str) -> object:
    """A setting's value checked against its declared type (str, int or a list of strings)."""
    if kind == "str":
        return value if isinstance(value, str) else _Wrong(f"'{key}' must be a string")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return _Wrong(f"'{key}' must be a whole number")
        return value
    if kind == "bool":
        return value if isinstance(value, bool) else _Wrong(f"'{key}' must be true or false")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return _Wrong(f'\'{key}\' must be a list of strings, like ["a", "b"]')
    return tuple(value)


def _accounts(
    kind: str,
    value: object,
    cls: type[_Account],
    problem: Callable[[tuple[str, ...], str], None],
) -> tuple[_Account, ...]:
    """The `[[gmail]]` or `[[outlook]]` tables, each checked like the top-level settings."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problem((kind,), f"'{kind}' must be [[{kind}]] tables")
        return ()
    accounts: list[_Account] = []
    for index, table in enumerate(value):
        where: tuple[str, ...] = (kind, str(index))
        values = _table(kind, f"[[{kind}]]", table, cls, where, problem)
        if not values.get("account"):
            problem(where, f"a [[{kind}]] table needs an 'account' name")
            continue
        account = cls(**values)
        if any(a.account == account.account for a in accounts):
            problem(where, f"two [[{kind}]] tables are called {account.account!r}")
            continue
        accounts.append(account)
    return tuple(accounts)


def _table(
    name: str,
    heading: str,
    table: dict[str, Any],
    cls: type,
    where: tuple[str, ...],
    problem: Callable[[tuple[str, ...], str], None],
) -> dict[str, Any]:
    """A table's values checked against the fields of `cls` (`name.key` in a problem, and
    `heading` for a key it does not know), each problem with its line."""
    known = {f.name: str(f.type) for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, item in table.items():
        if key not in known:
            problem((*where, key), f"unknown {heading} setting '{key}'{_hint(key, known)}")
            continue
        checked = _typed(f"{name}.{key}", item, known[key])
        if isinstance(checked, _Wrong):
            problem((*where, key), checked.message)
        else:
            values[key] = checked
    return values


def _files(
    value: object, problem: Callable[[tuple[str, ...], str], None]
) -> tuple[FileSource, ...]:
    """The `[[files]]` tables: each needs a path; a format, when given, is one import reads."""
    from connectors import FORMATS  # the connectors load slowly: only when there are files

    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problem(("files",), "'files' must be [[files]] tables")
        return ()
    found: list[FileSource] = []
    for index, table in enumerate(value):
        where = ("files", str(index))
        values = _table("files", "[[files]]", table, FileSource, where, problem)
        if not values.get("path"):
            problem(where, "a [[files]] table needs a 'path' (a file, a folder or a glob)")
            continue
        chosen = values.get("format", "")
        if chosen and chosen not in FORMATS:
            problem(
                (*where, "format"),
                f"unknown format '{chosen}'{_hint(chosen, FORMATS)} (one of {', '.join(FORMATS)})",
            )
            continue
        source = FileSource(**values)
        if any(f.path == source.path for f in found):
            problem(where, f"two [[files]] tables name {source.path!r}")
            continue
        found.append(source)
    return tuple(found)


def _notify(value: object, problem: Callable[[tuple[str, ...], str], None]) -> Notify:
    """The `[notify]` table, with what cannot work said at once rather than at 3 a.m."""
    if not isinstance(value, dict):
        problem(("notify",), "'notify' must be a [notify] table")
        return Notify()
    values = _table("notify", "[notify]", value, Notify, ("notify",), problem)
    notify = Notify(**values)

    def bad(key: str, message: str) -> None:
        problem(("notify", key), message)

    if notify.ping_url and not notify.ping_url.startswith(("http://", "https://")):
        bad("ping_url", "'ping_url' must be an http:// or https:// address")
    if notify.ping_timeout < 1:
        bad("ping_timeout", "'ping_timeout' must be at least 1 (seconds)")
    if notify.smtp_host and not notify.mail_to:
        bad("smtp_host", "an e-mail digest needs 'mail_to' (the addresses to send it to)")
    if notify.mail_to and not notify.smtp_host:
        bad("mail_to", "an e-mail digest needs 'smtp_host' (the server that sends it)")
    if not 0 < notify.smtp_port < 65536:
        bad("smtp_port", "'smtp_port' must be a port number (1-65535)")
    if notify.smtp_ssl and notify.smtp_starttls and "smtp_starttls" in values:
        bad("smtp_ssl", "'smtp_ssl' and 'smtp_starttls' are two ways to encrypt: choose one")
    if notify.smtp_user and not (notify.smtp_password_file or notify.smtp_password_env):
        bad(
            "smtp_user",
            "'smtp_user' needs 'smtp_password_file' or 'smtp_password_env' "
            "(a password is never written in config.toml)",
        )
    if notify.digest_when not in DIGEST_WHEN:
        bad("digest_when", f"'digest_when' must be one of {', '.join(DIGEST_WHEN)}")
    if notify.digest_top < 1:
        bad("digest_top", "'digest_top' must be at least 1")
    return notify


def _ladder(
    value: object, problem: Callable[[tuple[str, ...], str], None]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The `[ladder]` table: each key a rung, each value the channels on it."""
    if not isinstance(value, dict):
        problem(("ladder",), "'ladder' must be a [ladder] table")
        return ()
    found: list[tuple[str, tuple[str, ...]]] = []
    for rung, channels in value.items():
        if rung not in RUNGS:
            problem(
                ("ladder", rung),
                f"unknown rung '{rung}'{_hint(rung, RUNGS)} (the rungs: {', '.join(RUNGS)})",
            )
            continue
        checked = _typed(f"ladder.{rung}", channels, "list")
        if isinstance(checked, _Wrong):
            problem(("ladder", rung), checked.message)
            continue
        assert isinstance(checked, tuple)
        found.append((rung, tuple(str(c) for c in checked)))
    return tuple(found)


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
    import tomlkit  # only auth writes config.toml: every other command starts faster without it

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
