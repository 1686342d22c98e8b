"""Shared fixtures: the real-world corpus, fixture files, and a temporary netgarden home."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = REPO / "data" / "sample"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty netgarden home; $NETGARDEN_HOME points at it so nothing touches the real one."""
    folder = tmp_path / "home"
    monkeypatch.setenv("NETGARDEN_HOME", str(folder))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("COLUMNS", "250")  # tables wider than a CI log's default 80 columns
    return folder


def _loopback(address: object) -> bool:
    """Whether a socket address is on this machine (or a Unix socket)."""
    if not isinstance(address, tuple):
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it would be resolved and leave the machine


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """No test reaches beyond loopback: a connection anywhere else fails at once."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if not _loopback(address):
            raise OSError(f"tests may not leave the machine (connect to {address!r})")
        original(self, address)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded)
        yield
