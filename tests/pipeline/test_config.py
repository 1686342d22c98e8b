"""config.toml: the template `init` writes, and the tables `auth` adds to it."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from pipeline.config import (
    CONFIG_TEMPLATE,
    Config,
    GmailAccount,
    OutlookAccount,
    add_account_table,
    load_config,
    pick_account,
)
from pipeline.errors import ConfigError


def test_the_template_init_writes_loads_to_the_built_in_defaults(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(CONFIG_TEMPLATE, encoding="utf-8")
    assert load_config(tmp_path) == Config(home=tmp_path)


def test_an_added_table_keeps_every_line_and_quotes_any_name(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(CONFIG_TEMPLATE, encoding="utf-8")
    add_account_table(tmp_path, "gmail", {"account": 'o"dd\\name'})
    add_account_table(tmp_path, "gmail", {"account": "second"})
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    assert text.startswith(CONFIG_TEMPLATE)  # comments and settings kept, in their order
    assert [a.account for a in load_config(tmp_path).gmail] == ['o"dd\\name', "second"]
    assert stat.S_IMODE((tmp_path / "config.toml").stat().st_mode) == 0o600


def test_a_table_is_added_to_a_config_that_does_not_exist_yet(tmp_path: Path) -> None:
    add_account_table(tmp_path, "outlook", {"account": "w", "client_id": "c", "tenant": "t"})
    data = tomllib.loads((tmp_path / "config.toml").read_text(encoding="utf-8"))
    assert data == {"outlook": [{"account": "w", "client_id": "c", "tenant": "t"}]}


TABLES = (
    OutlookAccount("work", client_id="X", tenant="contoso"),
    OutlookAccount("home", client_id="Y", tenant="common"),
)


@pytest.mark.parametrize(
    ("account", "client_id", "tenant", "chosen"),
    [
        ("home", None, None, "home"),  # named
        ("new", "X", None, None),  # named, and no such table: a new account
        (None, "X", "contoso", "work"),  # the one table whose client id and tenant match
        (None, "Y", None, "home"),
        (None, "Z", None, None),  # no table fits: a new account
        (None, "X", "fabrikam", None),
    ],
)
def test_auth_finds_the_table_that_fits(
    account: str | None, client_id: str | None, tenant: str | None, chosen: str | None
) -> None:
    found = pick_account(TABLES, "outlook", account, client_id=client_id, tenant=tenant)
    assert (found.account if found else None) == chosen


def test_the_only_table_is_the_one_and_several_need_a_name() -> None:
    only = (GmailAccount("work"),)
    assert pick_account(only, "gmail", None) == only[0]
    assert pick_account((), "gmail", None) is None
    with pytest.raises(ConfigError, match="several \\[\\[outlook\\]\\] tables fit"):
        pick_account(TABLES, "outlook", None)
    assert pick_account((*TABLES, OutlookAccount("default")), "outlook", None) == OutlookAccount(
        "default"
    )


@pytest.mark.parametrize("codepage", ["undefined", "idna", "utf-7", "rot13", "base64", "nope"])
def test_a_code_page_no_export_is_written_in_is_refused(tmp_path: Path, codepage: str) -> None:
    (tmp_path / "config.toml").write_text(f'windows_codepage = "{codepage}"\n')
    with pytest.raises(ConfigError, match=r"line 1: .* is not a code page"):
        load_config(tmp_path)


@pytest.mark.parametrize("codepage", ["cp1252", "cp932", "iso-8859-1", "cp1251", "mac_roman"])
def test_real_code_pages_are_taken(tmp_path: Path, codepage: str) -> None:
    (tmp_path / "config.toml").write_text(f'windows_codepage = "{codepage}"\n')
    assert load_config(tmp_path).windows_codepage == codepage


def test_every_problem_of_config_toml_is_said_at_once_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        'default_regoin = "GB"\n'
        "max_recipients = 0\n"
        'timezone = "Mars/Olympus"\n'
        "\n[[gmail]]\n"
        'account = "a"\n'
        "quota = 5\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("config.toml: 4 problems")
    assert lines[1:] == [
        "  line 1: unknown setting 'default_regoin' (did you mean 'default_region'?)",
        "  line 7: unknown [[gmail]] setting 'quota'",
        "  line 3: unknown timezone 'Mars/Olympus'",
        "  line 2: 'max_recipients' must be at least 1",
    ]
