"""The test session refuses connections beyond loopback (conftest.no_network)."""

from __future__ import annotations

import socket

import pytest


def test_a_connection_beyond_loopback_fails_at_once() -> None:
    with pytest.raises(OSError, match="may not leave the machine"):
        socket.create_connection(("192.0.2.1", 443), timeout=5)


def test_loopback_is_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with server, socket.create_connection(server.getsockname(), timeout=5):
        pass
