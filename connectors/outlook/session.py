"""A Microsoft account opened for a sync or a sign-in: its token cache loaded and saved again,
its client secret read, and a connector made for each mailbox it reads. The one place that turns
an `[[outlook]]` table into connectors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from connectors.base import ReadOptions
from connectors.outlook.auth import (
    app_token,
    browser_sign_in,
    confidential_app,
    device_sign_in,
    load_cache,
    public_app,
    save_cache,
    user_token,
)
from connectors.outlook.graph import Graph
from connectors.outlook.sync import OutlookConnector
from pipeline.config import OutlookAccount
from pipeline.errors import SignInError, SourceError


def client_secret(account: OutlookAccount, home: Path) -> str:
    """The app's client secret, from its file in the home (never from config.toml)."""
    path = home / (account.client_secret_file or "outlook-client-secret")
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        raise SignInError(f"{path}: the app's client secret is missing") from None


@contextmanager
def outlook_session(
    account: OutlookAccount, home: Path, options: ReadOptions
) -> Iterator[list[OutlookConnector]]:
    """A connector per mailbox: the signed-in user's, or with app-only access each listed one.
    msal's token cache is written back (mode 0600) when the sync ends, even on failure: msal
    may have refreshed tokens.

    Raises SignInError or SourceError when the account cannot be opened."""
    label = f"outlook {account.account}"
    cache_path = account.cache_path(home)
    cache = load_cache(cache_path)
    try:
        connectors: list[OutlookConnector] = []
        if account.app_only:
            confidential = confidential_app(account, cache, client_secret(account, home))

            def app(fresh: bool) -> str:
                return app_token(confidential, label)

            connectors = [
                OutlookConnector(
                    account,
                    Graph(account.graph_url, app),
                    options,
                    frozenset({mailbox.lower()}),
                    mailbox=mailbox,
                )
                for mailbox in account.mailboxes
            ]
            if not connectors:
                raise SourceError("app-only access needs `mailboxes = [...]` to read")
        else:
            public = public_app(account, cache)
            _, username = user_token(public, label)

            def user(fresh: bool) -> str:
                return user_token(public, label, fresh=fresh)[0]

            connectors = [
                OutlookConnector(
                    account, Graph(account.graph_url, user), options, frozenset({username})
                )
            ]
        yield connectors
    finally:
        save_cache(cache, cache_path)


def sign_in(
    account: OutlookAccount,
    home: Path,
    *,
    app_only: bool = False,
    browser: bool = False,
    tell: Callable[[str], None],
) -> str:
    """Sign in once and keep msal's token cache (mode 0600): the app's own sign-in (client
    credentials) with `app_only`, a local browser with `browser`, else a device code whose
    address and code go to `tell`. Returns where the cache was stored."""
    cache_path = account.cache_path(home)
    cache = load_cache(cache_path)
    try:
        if app_only:
            confidential = confidential_app(account, cache, client_secret(account, home))
            app_token(confidential, f"outlook {account.account}")
        elif browser:
            browser_sign_in(public_app(account, cache))
        else:
            device_sign_in(public_app(account, cache), tell)
    except requests.RequestException as exc:
        raise SourceError(f"the sign-in service cannot be reached: {exc}") from None
    finally:
        save_cache(cache, cache_path)
    return str(cache_path)
