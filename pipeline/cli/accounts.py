"""Online accounts: `auth` (sign in once) and `sync` (pull what changed)."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import click

from pipeline.cli.group import EXIT_PARTIAL, App, app_of, echo, fail, main
from pipeline.cli.output import progress
from pipeline.config import (
    GmailAccount,
    OutlookAccount,
    add_account_table,
    ensure_home,
    pick_account,
)

_ACCOUNT_HELP = "The account's name (default: the one [[{kind}]] table that fits, else 'default')."


@main.group()
def auth() -> None:
    """Sign in to an account once; tokens are stored with mode 0600."""


@auth.command("gmail")
@click.option(
    "--client-secrets",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The OAuth client file of your Google Cloud project (a Desktop app client).",
)
@click.option("--account", help=_ACCOUNT_HELP.format(kind="gmail"))
@click.option(
    "--scopes",
    default="gmail.metadata,contacts.readonly,contacts.other.readonly,calendar.readonly",
    show_default=True,
    help="Read-only scopes to ask for, comma-separated.",
)
@click.option("--no-browser", is_flag=True, help="Print the address to open; paste the answer.")
@click.option("--revoke", is_flag=True, help="Forget the account's token.")
@click.pass_context
def auth_gmail(
    ctx: click.Context,
    client_secrets: Path | None,
    account: str | None,
    scopes: str,
    no_browser: bool,
    revoke: bool,
) -> None:
    """Sign in to Google (read-only) and store the token for `netgarden sync gmail`."""
    from connectors.gmail.session import sign_in

    app = app_of(ctx)
    known = pick_account(app.config.gmail, "gmail", account)
    settings = known or GmailAccount(account or "default")
    token = settings.token_path(app.home)
    if revoke:
        _forget(app, token, "token", settings.account)
        return
    if client_secrets is None:
        raise click.UsageError("--client-secrets is required to sign in")
    ensure_home(app.home)
    sign_in(
        settings,
        app.home,
        client_secrets,
        [name.strip() for name in scopes.split(",") if name.strip()],
        browser=not no_browser,
        ask=lambda question: str(click.prompt(question, err=True)),
        tell=lambda text: echo(text, err=True),
    )
    app.say(f"signed in; token stored in {token} (mode 0600)")
    if known is None:
        add_account_table(app.home, "gmail", {"account": settings.account})
        app.say(f"added a [[gmail]] table for {settings.account!r} to config.toml")


@auth.command("outlook")
@click.option("--client-id", help="The app (client) id of your Microsoft Entra app registration.")
@click.option("--tenant", help="Directory (tenant) id or domain; default: the config's, or common.")
@click.option("--account", help=_ACCOUNT_HELP.format(kind="outlook"))
@click.option("--browser", is_flag=True, help="Sign in in a local browser instead of a code.")
@click.option(
    "--app-only",
    is_flag=True,
    help="Check the app's own sign-in (client credentials) for the config's mailboxes.",
)
@click.option("--revoke", is_flag=True, help="Forget the account's token cache.")
@click.pass_context
def auth_outlook(
    ctx: click.Context,
    client_id: str | None,
    tenant: str | None,
    account: str | None,
    browser: bool,
    app_only: bool,
    revoke: bool,
) -> None:
    """Sign in to Microsoft 365 or Outlook.com (read-only) with a device code.

    Prints the address to open on any device and the code to type there; works without a
    terminal to type into. The token cache is stored with mode 0600 and refreshed silently.
    """
    from connectors.outlook.session import sign_in

    app = app_of(ctx)
    known = pick_account(app.config.outlook, "outlook", account, client_id=client_id, tenant=tenant)
    settings = known or OutlookAccount(
        account or "default", client_id=client_id or "", tenant=tenant or "common"
    )
    if client_id or tenant:
        settings = replace(
            settings,
            client_id=client_id or settings.client_id,
            tenant=tenant or settings.tenant,
        )
    cache_path = settings.cache_path(app.home)
    if revoke:
        _forget(app, cache_path, "token cache", settings.account)
        return
    if not settings.client_id:
        raise click.UsageError("--client-id is required (or a [[outlook]] table with one)")
    ensure_home(app.home)
    sign_in(
        settings,
        app.home,
        app_only=app_only or settings.app_only,
        browser=browser,
        tell=lambda text: echo(text, err=True),
    )
    if app_only or settings.app_only:
        app.say(f"the app signs in for {settings.account}")
    app.say(f"signed in; token cache stored in {cache_path} (mode 0600)")
    if known is None:
        add_account_table(
            app.home,
            "outlook",
            {
                "account": settings.account,
                "client_id": settings.client_id,
                "tenant": settings.tenant,
            },
        )
        app.say(f"added an [[outlook]] table for {settings.account!r} to config.toml")


def _forget(app: App, path: Path, what: str, account: str) -> None:
    """`auth --revoke`: the stored sign-in is deleted (signing in again makes a new one)."""
    if path.exists():
        path.unlink()
        app.say(f"forgot the {what} of {account} ({path})")
    else:
        app.say(f"{account} has no {what} to forget")


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--since", help="Backfill mail from this date (YYYY-MM-DD) on a first sync.")
@click.option("--all", "everything", is_flag=True, help="Backfill all mail on a first sync.")
@click.pass_context
def sync(ctx: click.Context, sources: tuple[str, ...], since: str | None, everything: bool) -> None:
    """Pull what changed from the configured accounts (all of them, or those named: `gmail`,
    `outlook` or an account name). A first Gmail sync backfills `backfill_days` of mail."""
    from pipeline.accounts import select, sync_account
    from pipeline.store import Store

    app = app_of(ctx)
    config = app.config
    chosen = select(config, sources)
    try:
        start_day = date.fromisoformat(since) if since else None
    except ValueError:
        fail(f"--since {since!r} is not a date (use YYYY-MM-DD)")
    failed = 0
    with Store(config.store_path) as store:
        for account in chosen:
            for result in sync_account(
                store,
                account,
                config,
                since=start_day,
                everything=everything,
                watch=lambda connector: progress(app, connector),
            ):
                if result.summary is None:
                    app.warn(result.error)
                    failed += 1
                    continue
                summary = result.summary
                for note in summary.notes:
                    app.say(f"{result.label}: {note}")
                app.say(
                    f"{result.label}: {summary.interactions_new} new exchanges "
                    f"(of {summary.interactions_read}), {summary.contacts.new} new contacts, "
                    f"{summary.contacts_created} discovered, {result.work}, "
                    f"{result.seconds:.1f} s"
                )
    if failed:
        sys.exit(EXIT_PARTIAL)
