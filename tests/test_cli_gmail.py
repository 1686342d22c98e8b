"""`auth gmail`, `sync` and `status` from the command line, against the fake Google."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import main
from tests.fakes.google import FakeGoogle
from tests.helpers import ME, run


@pytest.fixture
def account(home: Path, google: FakeGoogle) -> Path:
    """A home with one [[gmail]] account pointed at the fake, and its token file."""
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        f'[[gmail]]\naccount = "work"\napi_endpoint = "{google.root}"\n'
        "quota_units_per_minute = 15000\n"
    )
    token = home / "tokens" / "gmail-work.json"
    token.parent.mkdir()
    token.write_text(
        json.dumps(
            {
                "refresh_token": "r",
                "token_uri": google.token_uri,
                "client_id": "c",
                "client_secret": "s",
                "scopes": ["https://www.googleapis.com/auth/gmail.metadata"],
            }
        )
    )
    return token


def test_sync_prints_a_line_per_account_and_status_shows_it(
    account: Path, google: FakeGoogle, home: Path
) -> None:
    assert "never synced" in run("status").output
    now = datetime.now(UTC)
    google.add_message(
        [("From", "Ann <ann@example.com>"), ("To", ME), ("Message-ID", "<1@x>")],
        ["INBOX"],
        now - timedelta(days=3),
    )
    google.add_message(
        [("From", ME), ("To", "bob@example.com"), ("Message-ID", "<2@x>")],
        ["SENT"],
        now - timedelta(days=2),
    )
    result = run("sync")
    assert result.exit_code == 0, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("gmail work: 2 new exchanges (of 2), 0 new contacts, 2 discovered,")
    assert "quota units" in line
    # The refresh went to the file's token_uri (google-auth's own loader would have put
    # Google's there), and the refreshed token was saved with mode 0600 in a 0700 folder.
    assert google.token_refreshes == 1
    assert stat.S_IMODE(account.stat().st_mode) == 0o600
    assert stat.S_IMODE(account.parent.stat().st_mode) == 0o700
    assert json.loads(account.read_text())["token"]
    assert "last sync" in run("status").output
    again = run("sync")
    assert "gmail work: 0 new exchanges" in again.stderr


def test_a_missing_token_is_one_line_and_exit_3(account: Path) -> None:
    account.unlink()
    result = run("sync")
    assert result.exit_code == 3
    assert "run `netgarden auth gmail`" in result.stderr
    assert "Traceback" not in result.output


def test_a_revoked_sign_in_is_one_line_and_exit_3(account: Path, google: FakeGoogle) -> None:
    google.refresh_token = "another"  # Google no longer knows the stored refresh token
    result = run("sync")
    assert result.exit_code == 3
    assert "no longer accepts the sign-in" in result.stderr
    assert "Traceback" not in result.output


def test_revoke_forgets_the_token(account: Path) -> None:
    result = run("auth", "gmail", "--revoke", "--account", "work")
    assert result.exit_code == 0
    assert not account.exists()
    assert "not signed in" in run("status").output


def test_a_bad_since_date_is_one_line(account: Path) -> None:
    result = run("sync", "--since", "2026-13-01")
    assert result.exit_code == 1
    assert result.stderr == "error: --since '2026-13-01' is not a date (use YYYY-MM-DD)\n"


def test_sync_without_accounts_says_how_to_add_one(home: Path) -> None:
    result = run("sync")
    assert result.exit_code == 1
    assert "netgarden auth gmail" in result.stderr


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[[gmail]]\nquota_units_per_minute = 6000\n", "needs an 'account' name"),
        ('[[gmail]]\naccount = "a"\nquota = 5\n', "unknown [[gmail]] setting 'quota'"),
        ('[[gmail]]\naccount = "a"\n[[gmail]]\naccount = "a"\n', "two [[gmail]] tables"),
    ],
)
def test_bad_gmail_tables_are_one_clear_line(home: Path, text: str, error: str) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(text)
    result = run("status")
    assert result.exit_code == 1
    assert error in result.stderr


def test_auth_without_a_browser_stores_a_private_token_and_a_config_table(
    home: Path, google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.google import AUTHORIZATION_CODE

    # oauthlib insists on https unless told this is a local test (the fake speaks http).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    secrets = _client_file(tmp_path, google)
    pasted = f"http://127.0.0.1:1/?state=x&code={AUTHORIZATION_CODE}&scope=s\n"
    result = CliRunner().invoke(
        main,
        [
            "auth",
            "gmail",
            "--client-secrets",
            str(secrets),
            "--account",
            "me",
            "--no-browser",
            "--scopes",
            "gmail.metadata",
        ],
        input=pasted,
    )
    assert result.exit_code == 0, result.output
    # The consent address asks for the read-only scope only, and no secret is printed.
    assert "gmail.metadata" in result.stderr and "gmail.readonly" not in result.stderr
    assert "secret" not in result.output.replace("client_secret", "")
    assert google.codes_exchanged == 1
    token = home / "tokens" / "gmail-me.json"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert json.loads(token.read_text())["refresh_token"]
    assert 'account = "me"' in (home / "config.toml").read_text()
    assert "gmail me: signed in" in run("status").output


def test_run_syncs_and_writes_the_report(account: Path, google: FakeGoogle, home: Path) -> None:
    google.add_message(
        [("From", "Ann <ann@example.com>"), ("To", ME), ("Message-ID", "<1@x>")],
        ["INBOX"],
        datetime.now(UTC) - timedelta(days=1),
    )
    google.add_message(
        [("From", ME), ("To", "ann@example.com"), ("Message-ID", "<2@x>")],
        ["SENT"],
        datetime.now(UTC) - timedelta(hours=1),
    )
    result = run("-q", "run")
    assert result.exit_code == 0, result.output
    report = (home / "reports" / "staleness.csv").read_text()
    assert "ann@example.com" in report and "discovered" in report
    account.unlink()
    failed = run("run")
    assert failed.exit_code == 3
    assert (home / "reports" / "staleness.csv").exists()


def _client_file(tmp_path: Path, google: FakeGoogle) -> Path:
    secrets = tmp_path / "client_secret.json"
    secrets.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": "client.apps.googleusercontent.com",
                    "client_secret": "secret",
                    "auth_uri": google.root + "o/oauth2/auth",
                    "token_uri": google.token_uri,
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return secrets


def _sign_in(secrets: Path, *more: str) -> Result:
    from tests.fakes.google import AUTHORIZATION_CODE

    pasted = f"http://127.0.0.1:1/?state=x&code={AUTHORIZATION_CODE}&scope=s\n"
    return CliRunner().invoke(
        main,
        ["auth", "gmail", "--client-secrets", str(secrets), "--no-browser", *more],
        input=pasted,
    )


def test_an_account_name_with_quotes_and_backslashes_keeps_config_toml_valid(
    home: Path, google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    name = 'Ann\'s "work" \\ mail'
    result = _sign_in(_client_file(tmp_path, google), "--account", name)
    assert result.exit_code == 0, result.output
    assert f"gmail {name}: signed in" in run("status").output


def test_auth_without_an_account_signs_in_for_the_only_table(
    account: Path, home: Path, google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    before = (home / "config.toml").read_text()
    account.unlink()
    result = _sign_in(_client_file(tmp_path, google))
    assert result.exit_code == 0, result.output
    assert account.exists()  # tokens/gmail-work.json, the table's own token file
    assert (home / "config.toml").read_text() == before
    assert not (home / "tokens" / "gmail-default.json").exists()
