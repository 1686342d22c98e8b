"""What both fakes share: an HTTP server on 127.0.0.1 (a free port) in a daemon thread, over TLS
when the fake gives a certificate, with its start, stop and port.

A fake subclasses `LoopbackServer` and answers requests in `_http` (called from the server's
handler threads); `_tls_context` returns an SSL context to serve HTTPS instead of HTTP.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self, cast


class Answer(Protocol):
    """What `_http` returns: a status, headers and the body's bytes."""

    status: int
    headers: dict[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    fake: LoopbackServer
    context: ssl.SSLContext | None

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection; its TLS handshake, if any, in the connection's own thread."""
        raw = cast(socket.socket, request)
        # Headers and body leave in two writes; without this, Nagle and delayed ACKs stall
        # every keep-alive response by ~40 ms.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.context is None:
            _Handler(raw, client_address, self)
            return
        raw.settimeout(10)
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except OSError:  # ssl.SSLError included: e.g. the client does not trust the CA
            self.fake._tls_failed()
            with contextlib.suppress(OSError):
                raw.close()
            return
        try:
            _Handler(tls, client_address, self)
        finally:
            with contextlib.suppress(OSError):
                tls.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60

    def setup(self) -> None:
        super().setup()
        cast(_Server, self.server).fake._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_Server, self.server).fake._connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the ledger, not a log."""

    def version_string(self) -> str:
        return cast(_Server, self.server).fake.server_version

    def _handle(self) -> None:
        fake = cast(_Server, self.server).fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            name = key.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        reply = fake._http(self.command, self.path, headers, body)
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class LoopbackServer:
    """An in-process server on 127.0.0.1; use as a context manager, or start() and stop()."""

    #: The Server header of every answer, and the name of the serving thread.
    server_version = "Fake/1.0"
    #: The URL scheme clients use (https when `_tls_context` gives a context).
    scheme = "http"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    def _tls_context(self) -> ssl.SSLContext | None:
        """The context to serve HTTPS with (None: plain HTTP)."""
        return None

    def _http(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one request (called from the server's handler threads)."""
        raise NotImplementedError

    def _tls_failed(self) -> None:
        """A TLS handshake failed (a client that does not trust the certificate)."""

    def start(self) -> Self:
        """Listen on 127.0.0.1 (a free port) in a daemon thread; returns self."""
        context = self._tls_context()
        with self._lock:
            if self._server is not None:
                return self
            server = _Server(("127.0.0.1", 0), _Handler)
            server.fake = self
            server.context = context
            self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.server_version.partition("/")[0],
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open keep-alive connections."""
        with self._lock:
            server, self._server = self._server, None
            connections = list(self._connections)
        if server is None:
            return
        server.shutdown()
        server.server_close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on (RuntimeError before start())."""
        server = self._server
        if server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(server.server_address[1])

    @property
    def root(self) -> str:
        """``SCHEME://127.0.0.1:PORT/``."""
        return f"{self.scheme}://127.0.0.1:{self.port}/"

    def _connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)
