"""What `netgarden run` does with its sources: import the `[[files]]` that changed and sync
every account, each source's outcome a `SourceResult` kept in the run's record.

A file is imported in one transaction and an account commits at each of its checkpoints, so a
run killed at any moment leaves the store as it was before the file (or after the page); the
next run imports the file again (its digest was not recorded) and resumes the account.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext

from connectors.base import Connector, ReadOptions
from pipeline.accounts import StreamResult, sync_account
from pipeline.config import Config, FileSource, GmailAccount, OutlookAccount
from pipeline.errors import NetgardenError
from pipeline.runlog import SourceResult, now_text
from pipeline.runner import ImportSummary, import_file
from pipeline.store import Store

#: Wraps a read to follow it (a progress display on a terminal).
Watch = Callable[[Connector], AbstractContextManager[object]]


def import_files(
    store: Store,
    source: FileSource,
    config: Config,
    *,
    watch: Watch | None = None,
) -> SourceResult:
    """Import what a `[[files]]` table names, each file in its own transaction; files unchanged
    since their last import are passed over, and so are the files of a folder that are no
    export (counted in the result, not a failure). It failed when it names nothing that
    exists, or when a file of it cannot be imported (the others still are)."""
    from connectors import plan

    began = time.monotonic()
    paths = source.paths(config.home)
    if not paths:
        return _failed(source, "matches no file", began)
    existing = [p for p in paths if p.exists()]
    if not existing:
        return _failed(source, f"{paths[0]}: no such file or folder", began)
    try:
        chosen, passed_over = plan(existing, source.format or None)
    except NetgardenError as exc:
        return _failed(source, str(exc), began)
    options = ReadOptions.of(config)
    errors: list[str] = []
    summaries: list[ImportSummary] = []
    for path, cls in chosen:
        connector = cls(path, options)
        try:
            with watch(connector) if watch is not None else nullcontext():
                summaries.append(import_file(store, connector))
        except NetgardenError as exc:
            errors.append(str(exc))
    if not summaries and not errors:
        return _failed(source, "holds no file netgarden can import", began)
    return SourceResult(
        source=source.label,
        kind="files",
        ok=not errors,
        unchanged=bool(summaries) and all(s.unchanged for s in summaries) and not errors,
        contacts_new=sum(s.contacts.new for s in summaries),
        contacts_updated=sum(s.contacts.updated for s in summaries),
        discovered=sum(s.contacts_created for s in summaries),
        exchanges_read=sum(s.interactions_read for s in summaries),
        exchanges_new=sum(s.interactions_new for s in summaries),
        skipped=sum(sum(s.skipped.values()) for s in summaries),
        quarantined=sum(s.quarantined for s in summaries),
        passed_over=len(passed_over),
        seconds=time.monotonic() - began,
        error="; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""),
        ended_at=now_text(),
    )


def _failed(source: FileSource, error: str, began: float) -> SourceResult:
    return SourceResult(
        source=source.label,
        kind="files",
        ok=False,
        error=error,
        seconds=time.monotonic() - began,
        ended_at=now_text(),
    )


def sync_accounts(
    store: Store, config: Config, *, watch: Watch | None = None
) -> Iterator[SourceResult]:
    """Sync every configured account's streams, a result per stream as each ends."""
    accounts: list[GmailAccount | OutlookAccount] = [*config.gmail, *config.outlook]
    for account in accounts:
        kind = "gmail" if isinstance(account, GmailAccount) else "outlook"
        for result in sync_account(store, account, config, watch=watch):
            yield _of_stream(kind, result)


def _of_stream(kind: str, result: StreamResult) -> SourceResult:
    summary = result.summary
    if summary is None:
        return SourceResult(
            source=result.label, kind=kind, ok=False, error=result.error, ended_at=now_text()
        )
    return SourceResult(
        source=result.label,
        kind=kind,
        ok=True,
        contacts_new=summary.contacts.new,
        contacts_updated=summary.contacts.updated,
        discovered=summary.contacts_created,
        exchanges_read=summary.interactions_read,
        exchanges_new=summary.interactions_new,
        skipped=sum(summary.skipped.values()),
        quarantined=summary.quarantined,
        work=result.work,
        seconds=result.seconds,
        ended_at=now_text(),
    )
