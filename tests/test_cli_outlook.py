"""`auth outlook`, `sync` and `status` for Microsoft accounts, against the fake Microsoft."""

from __future__ import annotations

import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.microsoft import FakeMicrosoft
from tests.helpers import ME, run


@pytest.fixture
def configured(home: Path, microsoft: FakeMicrosoft) -> Path:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        f'[[outlook]]\naccount = "work"\nclient_id = "client-id"\n'
        f'authority = "{microsoft.authority}"\ngraph_endpoint = "{microsoft.graph_endpoint}"\n'
    )
    return home


def approve_when_asked(microsoft: FakeMicrosoft) -> threading.Thread:
    """The user, on another device, types the code as soon as it is shown."""

    def approve() -> None:
        for _ in range(500):
            if microsoft.device_codes_issued:
                microsoft.approve_device()
                return
            time.sleep(0.01)

    thread = threading.Thread(target=approve, daemon=True)
    thread.start()
    return thread


def mail(microsoft: FakeMicrosoft, n: int) -> None:
    for i in range(n):
        when = datetime.now(UTC) - timedelta(days=i + 1)
        microsoft.add_message(
            "inbox",
            from_=(f"Person {i}", f"p{i}@example.com"),
            to=[("Me", ME)],
            sent=when,
            received=when,
            internet_message_id=f"<{i}@example.com>",
        )


def test_device_code_sign_in_then_silent_syncs(
    configured: Path, microsoft: FakeMicrosoft, home: Path
) -> None:
    approve_when_asked(microsoft)
    result = run("auth", "outlook", "--account", "work")
    assert result.exit_code == 0, result.output
    # The address and the code, and never a token.
    assert "devicelogin" in result.stderr and "enter the code" in result.stderr
    assert "eyJ" not in result.output
    cache = home / "tokens" / "outlook-work.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    assert "never synced" in run("status").output

    mail(microsoft, 3)
    microsoft.expire_access_tokens()  # the next run must refresh silently from the cache
    synced = run("sync", "outlook")
    assert synced.exit_code == 0, synced.output
    assert "outlook work: 3 new exchanges (of 3)" in synced.stderr
    assert microsoft.refresh_count >= 1
    assert "last sync" in run("status").output
    again = run("sync")
    assert "outlook work: 0 new exchanges" in again.stderr


def test_a_throttling_sign_in_service_is_one_line_not_a_crash(
    configured: Path, microsoft: FakeMicrosoft
) -> None:
    approve_when_asked(microsoft)
    assert run("auth", "outlook", "--account", "work").exit_code == 0
    microsoft.expire_access_tokens()
    microsoft.fail_token_next(429, retry_after="120", grant_type="refresh_token")
    result = run("sync")
    assert result.exit_code == 3
    assert "the signed-in service is throttling; next try at" in result.stderr
    assert "Traceback" not in result.output


def test_app_only_reads_the_listed_mailboxes(home: Path, microsoft: FakeMicrosoft) -> None:
    microsoft.add_user("ann@contoso.example", "Ann")
    microsoft.add_message(
        "inbox",
        from_=("Bob", "bob@example.com"),
        to=[("Ann", "ann@contoso.example")],
        sent=datetime.now(UTC) - timedelta(days=1),
        received=datetime.now(UTC) - timedelta(days=1),
        internet_message_id="<ann-1@example.com>",
        mailbox="ann@contoso.example",
    )
    home.mkdir(parents=True)
    (home / "outlook-client-secret").write_text("app-secret\n")
    (home / "config.toml").write_text(
        f'[[outlook]]\naccount = "org"\nclient_id = "client-id"\n'
        f'authority = "{microsoft.authority}"\ngraph_endpoint = "{microsoft.graph_endpoint}"\n'
        'app_only = true\nmailboxes = ["ann@contoso.example"]\n'
    )
    signed = run("auth", "outlook", "--account", "org", "--app-only")
    assert signed.exit_code == 0, signed.output
    result = run("sync")
    assert result.exit_code == 0, result.output
    assert "outlook org ann@contoso.example: 1 new exchanges (of 1)" in result.stderr
    assert microsoft.client_credentials_count >= 1
    assert "outlook org ann@contoso.example" in run("status").output


def test_sync_without_a_sign_in_says_how(configured: Path) -> None:
    result = run("sync")
    assert result.exit_code == 3
    assert "run `netgarden auth outlook`" in result.stderr


def test_auth_without_an_account_signs_in_for_the_table_whose_client_id_and_tenant_match(
    home: Path, microsoft: FakeMicrosoft
) -> None:
    home.mkdir(parents=True)
    config = (
        "# my accounts\n"
        f'[[outlook]]\naccount = "personal"\nclient_id = "other-app"\n'
        f'authority = "{microsoft.authority_for("common")}"\n\n'
        f'[[outlook]]\naccount = "work"\nclient_id = "client-id"\ntenant = "contoso.example"\n'
        f'authority = "{microsoft.authority_for("contoso.example")}"\n'
        f'graph_endpoint = "{microsoft.graph_endpoint}"\n'
    )
    (home / "config.toml").write_text(config)
    approve_when_asked(microsoft)
    result = run("auth", "outlook", "--client-id", "client-id", "--tenant", "contoso.example")
    assert result.exit_code == 0, result.output
    # That table's authority (the fake, not Microsoft's public one) and that table's cache;
    # config.toml is left as it was.
    assert (home / "tokens" / "outlook-work.json").exists()
    assert not (home / "tokens" / "outlook-default.json").exists()
    assert (home / "config.toml").read_text() == config
    mail(microsoft, 2)
    assert "outlook work: 2 new exchanges" in run("sync", "work").stderr
