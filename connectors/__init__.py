"""The connector registry: format name -> connector class, loaded lazily, and format detection."""

from __future__ import annotations

import importlib
from pathlib import Path

from connectors.base import HEAD_BYTES, FileConnector
from connectors.textcodec import bom_encoding
from pipeline.errors import FormatError

_REGISTRY: dict[str, str] = {
    "vcard": "connectors.vcard:VCardConnector",
    "google_csv": "connectors.csvfiles:GoogleCsvConnector",
    "linkedin": "connectors.csvfiles:LinkedInConnector",
    "thunderbird": "connectors.csvfiles:ThunderbirdCsvConnector",
    "outlook_csv": "connectors.csvfiles:OutlookCsvConnector",
    "interactions": "connectors.csvfiles:InteractionsCsvConnector",
    "mbox": "connectors.mailbox:MboxConnector",
    "ics": "connectors.calendar:IcsConnector",
    "eml": "connectors.mailbox:EmlConnector",
    "maildir": "connectors.mailbox:MailFolderConnector",
}
#: Format names in detection order (the first whose sniff accepts a file wins).
FORMATS: tuple[str, ...] = tuple(_REGISTRY)
_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (unpack it first)",
    b"GIF8": "a GIF image",
    b"SQLite format 3": "an SQLite database",
}
_EXPECTED = (
    "expected a vCard file, a Google, Outlook, LinkedIn, Thunderbird or interactions CSV, "
    "an mbox, a Maildir, an .eml file or an iCalendar .ics file"
)


def connector_class(name: str) -> type[FileConnector]:
    """The connector class registered as `name`."""
    module_name, _, class_name = _REGISTRY[name].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, FileConnector)):
        raise TypeError(f"{_REGISTRY[name]} is not a FileConnector")
    return cls


def forced(path: Path, name: str) -> type[FileConnector]:
    """The connector `--format NAME` asks for, if it can read `path` at all: a mail folder is
    a folder, every other format a file."""
    if (name == "maildir") != path.is_dir():
        wanted = (
            "a folder (a Maildir, or a folder of .eml files)" if name == "maildir" else "a file"
        )
        raise FormatError(path, f"--format {name} reads {wanted}")
    return connector_class(name)


def detect(path: Path) -> type[FileConnector]:
    """The connector for a file, chosen by its content; FormatError with one clear line if none.

    A folder is a mail folder (Maildir, or `.eml` files) or nothing.
    """
    if path.is_dir():
        from connectors.mailbox import is_mail_folder

        if is_mail_folder(path):
            return connector_class("maildir")
        raise FormatError(path, "a folder without mail in it (no cur/ and new/, no .eml files)")
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    if not head.strip():
        raise FormatError(path, f"empty file; {_EXPECTED}")
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise FormatError(path, f"this is {what}, not an export; {_EXPECTED}")
    if b"\x00" in head and bom_encoding(head) is None:
        raise FormatError(path, f"binary file, not an export; {_EXPECTED}")
    for name in FORMATS:
        cls = connector_class(name)
        if cls.sniff(head, path):
            return cls
    suffix = path.suffix.lower()
    if suffix in (".vcf", ".vcard"):
        raise FormatError(path, "not a vCard file: it does not start with BEGIN:VCARD")
    if suffix in (".csv", ".txt"):
        first = head.splitlines()[0][:80].decode("utf-8", errors="replace") if head else ""
        raise FormatError(path, f"unrecognized CSV header {first!r}; {_EXPECTED}")
    raise FormatError(path, f"unrecognized format; {_EXPECTED}")


def expand(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """What to import: each file named, and every file below each folder named (sorted).

    Returns (named, found in folders). A mail folder (a Maildir, or a folder of `.eml` files)
    is one source, named or found, not one per message; other hidden files and folders, and the
    files of a mail folder, are passed over.
    """
    from connectors.mailbox import is_mail_folder

    named: list[Path] = []
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            if is_mail_folder(path):
                named.append(path)
                continue
            folders = [p for p in sorted(path.rglob("*")) if p.is_dir() and is_mail_folder(p)]
            # A Maildir's Maildir++ subfolders and nested .eml folders belong to it.
            folders = [f for f in folders if not any(o in f.parents for o in folders)]
            found.extend(folders)
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and not any(f in p.parents for f in folders)
            )
        elif path.is_file():
            named.append(path)
        elif path.exists():
            # A pipe would block, a device never end: give `-` to read what a command prints.
            raise FormatError(
                path,
                "not a regular file (a pipe or a device); to import what a command prints, "
                "pipe it in and give - as the path",
            )
        else:
            raise FormatError(path, "no such file or folder")
    return named, found


def plan(
    paths: list[Path], format_name: str | None = None
) -> tuple[list[tuple[Path, type[FileConnector]]], list[str]]:
    """What `import PATH...` reads, and with which connector: every path named (FormatError
    for one that cannot be read as asked) and every file found in the folders named (one that
    is no export is passed over, with the warning returned for it). Address books come first:
    an exchange file then finds the people they list instead of making a contact for each."""
    named, found = expand(paths)
    chosen: list[tuple[Path, type[FileConnector]]] = []
    warnings: list[str] = []
    for path in named:
        chosen.append((path, forced(path, format_name) if format_name else detect(path)))
    for path in found:
        try:
            chosen.append((path, forced(path, format_name) if format_name else detect(path)))
        except FormatError as exc:
            warnings.append(f"skipped {exc}")
    chosen.sort(key=lambda item: item[1].orphans == "contact")
    return chosen, warnings
