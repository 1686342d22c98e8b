"""Writing files that hold personal data: atomically (a reader sees the old file or the new one,
never half of one), readable by their owner only (mode 0600, in a folder of mode 0700)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: str | bytes, *, private_folder: bool = False) -> None:
    """Replace `path` with `data` (text is written as UTF-8), mode 0600. A folder it makes is
    its owner's only (0700); with `private_folder`, so is one that was there (a token folder),
    where a folder the user chose (`report --out`) keeps its mode."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    elif private_folder:
        os.chmod(path.parent, 0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


#: The most a settings file (config.toml, networks.toml, overrides.toml) may hold.
SETTINGS_BYTES = 1 << 20


def read_settings(path: Path) -> str:
    """The text of a settings file. OSError, or ValueError saying in a few words what is
    wrong: not a regular file (a pipe or a device would block or never end), too large to be
    settings, not UTF-8."""
    if not path.is_file():
        raise ValueError("not a regular file" if path.exists() else "no such file")
    if path.stat().st_size > SETTINGS_BYTES:
        raise ValueError(f"larger than {SETTINGS_BYTES >> 20} MB: not a settings file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def keep_previous(path: Path, previous: Path) -> None:
    """Keep the file at `path` as `previous` (replacing it) before `path` is written anew.
    `path` stays in place until then: a second name is linked to it, then moved over
    `previous` in one step, so neither name is ever missing or half a file."""
    if not path.is_file():
        return
    linked = path.with_name(f".{previous.name}.link")
    linked.unlink(missing_ok=True)
    try:
        os.link(path, linked)
    except OSError:  # a file system without hard links: a copy, written atomically
        write_private(previous, path.read_bytes())
        return
    os.replace(linked, previous)
