"""A Google account opened for a sync (its token file read, its connector made, the refreshed
token saved again afterwards) or signed in to. The one place that turns a `[[gmail]]` table into
a connector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from connectors.base import ReadOptions
from connectors.gmail.auth import load_credentials, save_credentials, scope_urls
from connectors.gmail.auth import sign_in as google_sign_in
from connectors.gmail.sync import GmailConnector
from pipeline.config import GmailAccount


@contextmanager
def gmail_session(
    account: GmailAccount,
    home: Path,
    options: ReadOptions,
    *,
    since: date | None = None,
    everything: bool = False,
) -> Iterator[list[GmailConnector]]:
    """The account's connector (a list of one: an account is one stream); the token file,
    refreshed by the sync, is written back (mode 0600) when the sync ends, even on failure.

    Raises SignInError when the token file is missing or unreadable."""
    path = account.token_path(home)
    credentials = load_credentials(path)
    try:
        yield [GmailConnector(account, credentials, options, since=since, everything=everything)]
    finally:
        if credentials.token:
            save_credentials(credentials, path)


def sign_in(
    account: GmailAccount,
    home: Path,
    client_secrets: Path,
    scope_names: list[str],
    *,
    browser: bool,
    ask: Callable[[str], str],
    tell: Callable[[str], None],
) -> Path:
    """Google's installed-app flow with the client file `client_secrets`, for the read-only
    scopes named; the token is stored (mode 0600, folder 0700) where the account's table says.
    Returns the token file."""
    credentials = google_sign_in(
        client_secrets, scope_urls(scope_names), browser=browser, ask=ask, tell=tell
    )
    path = account.token_path(home)
    save_credentials(credentials, path)
    return path
