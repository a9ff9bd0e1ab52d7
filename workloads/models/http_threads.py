"""The threads model's HTTP servers (workload ``http_server``): one OS thread per connection, blocking sockets.

Both variants listen on ``ECHO_HOST``, port 0, with a ``LISTEN_BACKLOG`` backlog, and the calling
thread waits for the stop pipe with ``selectors``, as ``tcp_echo_server`` does.

- ``threadinghttpserver`` (default): the standard library's own server,
  ``http.server.ThreadingHTTPServer`` (a thread per connection, ``daemon_threads = True``), with a
  ``BaseHTTPRequestHandler`` subclass: ``protocol_version = "HTTP/1.1"`` (the stdlib's keep-alive
  switch; its default "HTTP/1.0" closes every connection), ``log_message`` silenced (no access
  log), and ``disable_nagle_algorithm = True`` (``socketserver.StreamRequestHandler``'s switch for
  TCP_NODELAY): the handler writes the head (``end_headers`` flushes it) and then the body, two
  writes, and with Nagle on every keep-alive response waited ~40 ms for the client's delayed ACK
  (CPython issue 108736). ``request_queue_size = LISTEN_BACKLOG`` (socketserver's documented listen
  backlog, 5 by default). ``do_GET`` calls ``time.sleep(io_s)`` when ``io_s > 0``, then
  ``send_response(200)``, Content-Type, Content-Length, ``end_headers`` and ``wfile.write(body)``.
  Garbage gets the stdlib's 400 and closes that connection; ``handle_error`` drops a
  ``ConnectionError`` (a client that reset) instead of printing its traceback, and reports the rest.
  ``serve_forever`` runs in a thread. On stop: ``shutdown()`` ends that loop (it polls every 0.5 s,
  socketserver's default), then every live connection, tracked from ``process_request`` to
  ``shutdown_request``, is shut down (``SHUT_RDWR``: an idle keep-alive handler's ``readline`` sees
  EOF; one in its sleep fails its write), and ``server_close()`` closes the listener and joins every
  handler thread (socketserver's ``block_on_close``).
- ``httptools``: the suite's same parser (``workloads.models.shared.http_parsing.RequestParser``)
  on the echo server's scheme: an accept thread and one thread per connection on blocking sockets
  (TCP_NODELAY set): ``recv(64 KiB)``, and for each request the bytes completed ``time.sleep(io_s)``
  (only when ``io_s > 0``) and ``sendall(app.response)``, in order. A ``ParseError`` (garbage) or an
  ``OSError`` (a reset) ends that connection only. On stop every socket is shut down
  (``SHUT_RDWR``: a blocked ``accept`` fails, a blocked ``recv`` returns EOF) and the threads are
  joined with a bound; a socket is closed only by its own thread, or after that thread was joined.
"""

from __future__ import annotations

import errno
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from workloads.models.shared.http_blocking import serve_same_parser
from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.http_data import CONTENT_TYPE, HttpApp
from workloads.specs.http_server import SAME_PARSER

HTTP_VARIANTS: tuple[str, ...] = ("threadinghttpserver", SAME_PARSER)
STOP_JOIN_TIMEOUT_S = 5.0
_ACCEPT_RETRY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def _shutdown_quietly(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already disconnected


def _wait_readable(fd: int) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not selector.select():
            pass


# -- own server: http.server.ThreadingHTTPServer ---------------------------------------------


def _handler_class(app: HttpApp) -> type[BaseHTTPRequestHandler]:
    body = app.body
    io_s = app.io_s
    length = str(len(body))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            if io_s > 0:
                time.sleep(io_s)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", length)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no access log (log_error ends here too)

    return Handler


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its live connections, so stopping can wake their threads."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:  # out of the set before it is closed: close_connections never sees a closed one
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client reset or went away: only its connection ends
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut every live connection down: its handler thread sees EOF (or a failed write) and ends."""
        with self._lock:
            for conn in self._connections:
                _shutdown_quietly(conn)


def _serve_threadinghttpserver(control: ServerControl, app: HttpApp) -> None:
    server = _Server((ECHO_HOST, 0), _handler_class(app))
    loop = threading.Thread(target=server.serve_forever, name="http-serve-forever", daemon=True)
    try:
        loop.start()
    except BaseException:
        server.server_close()
        raise
    try:
        control.listening(server.server_address[1])
        _wait_readable(control.stop_fd)
    finally:
        server.shutdown()  # ends serve_forever (within its 0.5 s poll): no new connections from here on
        loop.join()
        server.close_connections()
        server.server_close()  # closes the listener and joins every handler thread


# -- same parser: one thread per connection on blocking sockets ------------------------------


class _ThreadPerConnection:
    """The echo server's scheme: an accept thread plus a thread per connection; ``stop`` wakes and joins them."""

    def __init__(self, listener: socket.socket, serve: Callable[[socket.socket], None]) -> None:
        self._listener = listener
        self._serve_connection = serve
        self._lock = threading.Lock()
        self._stopping = False
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._acceptor = threading.Thread(target=self._accept_loop, name="http-accept", daemon=True)

    def start(self) -> None:
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError as exc:
                if self._stopping:
                    return
                if exc.errno in _ACCEPT_RETRY_ERRNOS:
                    time.sleep(0.01)  # out of descriptors or memory: back off, keep serving the others
                continue  # ECONNABORTED and friends: the client gave up before we accepted
            with self._lock:
                if self._stopping:
                    conn.close()
                    return
                thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._connections[conn] = thread
                thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._serve_connection(conn)
        finally:
            with self._lock:
                self._connections.pop(conn, None)
            conn.close()

    def stop(self) -> None:
        deadline = time.monotonic() + STOP_JOIN_TIMEOUT_S
        with self._lock:
            self._stopping = True
            for conn in self._connections:
                _shutdown_quietly(conn)
            handlers = list(self._connections.values())
        _shutdown_quietly(self._listener)  # a blocked accept() fails with EINVAL on Linux
        self._acceptor.join(max(0.0, deadline - time.monotonic()))
        for thread in handlers:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            leftovers = list(self._connections)
        for conn in leftovers:  # only if a handler missed the deadline: close it anyway
            conn.close()
        if not self._acceptor.is_alive():
            self._listener.close()


def _same_parser_connection(app: HttpApp) -> Callable[[socket.socket], None]:
    def serve(conn: socket.socket) -> None:
        serve_same_parser(conn, app, time.sleep)

    return serve


def _serve_same_parser(control: ServerControl, app: HttpApp) -> None:
    listener = socket.create_server((ECHO_HOST, 0), backlog=LISTEN_BACKLOG)
    server = _ThreadPerConnection(listener, _same_parser_connection(app))
    try:
        server.start()
    except BaseException:
        listener.close()
        raise
    try:
        control.listening(listener.getsockname()[1])
        _wait_readable(control.stop_fd)
    finally:
        server.stop()


def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
    if variant == "threadinghttpserver":
        _serve_threadinghttpserver(control, app)
    elif variant == SAME_PARSER:
        _serve_same_parser(control, app)
    else:
        raise ValueError(f"unknown http_server variant {variant!r}; this model offers {HTTP_VARIANTS}")
