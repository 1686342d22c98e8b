"""The home folder and `config.toml`: where netgarden keeps its store and what it assumes."""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, fields
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from pipeline.errors import ConfigError

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
"""


@dataclass(frozen=True)
class Config:
    """Settings read from `config.toml`; every field has a default."""

    home: Path
    default_region: str = "US"
    timezone: str = ""
    windows_codepage: str = "cp1252"
    networks_file: str = "networks.toml"
    overrides_file: str = "overrides.toml"

    @property
    def store_path(self) -> Path:
        return self.home / STORE_FILE

    @property
    def networks_path(self) -> Path:
        return self.home / self.networks_file

    @property
    def overrides_path(self) -> Path:
        return self.home / self.overrides_file

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
    known = {f.name for f in fields(Config)} - {"home"}
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in known:
            hint = difflib.get_close_matches(key, sorted(known), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"{path}: unknown setting '{key}'{suggestion}")
        if not isinstance(value, str):
            raise ConfigError(f"{path}: '{key}' must be a string")
        values[key] = value
    config = Config(home=home, **values)
    if config.timezone:
        try:
            ZoneInfo(config.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{path}: unknown timezone '{config.timezone}'") from None
    try:
        "".encode(config.windows_codepage)
    except LookupError:
        raise ConfigError(f"{path}: unknown code page '{config.windows_codepage}'") from None
    return config
