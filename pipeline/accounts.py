"""Online accounts (`[[gmail]]` and `[[outlook]]` tables): which streams they hold and syncing
them, one stream at a time, each failure kept to its own stream.

The connector packages open the accounts (tokens, secrets, mailboxes) and turn their client
libraries' errors into `SourceError`; this module only sees netgarden's own errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from connectors.base import Connector, ReadOptions
from pipeline.config import Config, GmailAccount, OutlookAccount
from pipeline.errors import NetgardenError
from pipeline.runner import SyncSummary, sync_source
from pipeline.store import Store

Account = GmailAccount | OutlookAccount
#: Wraps a sync to follow it (a progress display); given the connector before it starts.
Watch = Callable[[Connector], AbstractContextManager[object]]


@dataclass(frozen=True)
class Stream:
    """One stream of an account as `status` lists it: a Google account, or one mailbox of a
    Microsoft account."""

    label: str
    stream: str
    token: Path


@dataclass(frozen=True)
class StreamResult:
    """What syncing one stream did: its summary, or the one line that says why it failed."""

    label: str
    summary: SyncSummary | None = None
    error: str = ""
    work: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


def label(account: Account) -> str:
    kind = "gmail" if isinstance(account, GmailAccount) else "outlook"
    return f"{kind} {account.account}"


def streams(config: Config) -> list[Stream]:
    """Every stream of every configured account, in the order of config.toml."""
    found = [
        Stream(label(a), f"gmail:{a.account}", a.token_path(config.home)) for a in config.gmail
    ]
    for outlook in config.outlook:
        mailboxes = outlook.mailboxes if outlook.app_only else ("",)
        found += [
            Stream(
                f"{label(outlook)} {m}".strip(),
                f"outlook:{outlook.account}{':' + m if m else ''}",
                outlook.cache_path(config.home),
            )
            for m in mailboxes
        ]
    return found


def select(config: Config, names: tuple[str, ...]) -> list[Account]:
    """The accounts `sync NAME...` means: all of them, or those of a kind (`gmail`,
    `outlook`) or with a name. NetgardenError when none is left."""
    chosen: list[Account] = [
        a for a in config.gmail if not names or "gmail" in names or a.account in names
    ]
    chosen += [a for a in config.outlook if not names or "outlook" in names or a.account in names]
    if not chosen:
        raise NetgardenError(
            "no account to sync; sign in with `netgarden auth gmail` or `netgarden auth outlook`"
            if not config.gmail and not config.outlook
            else f"no configured account is called {', '.join(names)}"
        )
    return chosen


def sync_account(
    store: Store,
    account: Account,
    config: Config,
    *,
    since: date | None = None,
    everything: bool = False,
    watch: Watch | None = None,
) -> Iterator[StreamResult]:
    """Sync every stream of one account; a result per stream (one, with the error, when the
    account cannot even be opened). Each stream commits at its own checkpoints."""
    name = label(account)
    options = ReadOptions.of(config)
    opened: AbstractContextManager[Sequence[Connector]]
    try:
        if isinstance(account, GmailAccount):
            from connectors.gmail.session import gmail_session

            opened = gmail_session(
                account, config.home, options, since=since, everything=everything
            )
        else:
            from connectors.outlook.session import outlook_session

            opened = outlook_session(account, config.home, options)
        with opened as connectors:
            for connector in connectors:
                yield _sync_stream(store, connector, name, watch)
    except NetgardenError as exc:
        yield StreamResult(name, error=_line(name, exc))


def _sync_stream(
    store: Store, connector: Connector, account: str, watch: Watch | None
) -> StreamResult:
    mailbox = getattr(connector, "mailbox", "")
    name = f"{account} {mailbox}".strip()
    began = time.monotonic()
    try:
        with watch(connector) if watch is not None else nullcontext():
            summary = sync_source(store, connector)
    except NetgardenError as exc:
        return StreamResult(name, error=_line(name, exc))
    return StreamResult(
        name,
        summary,
        work=f"{connector.work_done()} {connector.work_unit}",
        seconds=time.monotonic() - began,
    )


def _line(name: str, exc: NetgardenError) -> str:
    message = str(exc)
    return message if message.startswith(name) else f"{name}: {message}"
