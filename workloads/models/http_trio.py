"""trio's HTTP servers (workload ``http_server``), both on the echo server's listeners and streams.

Both variants listen like ``tcp_echo_server``: ``trio.open_tcp_listeners`` on ``ECHO_HOST``, port 0,
``LISTEN_BACKLOG``, served by ``trio.serve_listeners`` in a nursery; the stop pipe is awaited with
``trio.lowlevel.wait_readable``, then the nursery is cancelled, which closes the listeners and every
connection's ``SocketStream`` (a handler in ``trio.sleep`` is cancelled there). Each connection is
one task reading with ``SocketStream.receive_some`` (trio's default size) and writing with
``send_all``; a client that resets (``trio.BrokenResourceError``) or sends garbage ends its own
connection only.

- ``h11`` (default): trio has no HTTP server of its own; its users pair it with h11, trio's sans-IO
  HTTP/1.1 library (its documented Trio server example). One ``h11.Connection(h11.SERVER)`` per
  connection, driven by h11's documented loop: ``next_event()``, and on ``NEED_DATA``
  ``receive_data(await receive_some())`` (``b""`` is EOF). On each ``h11.Request`` the handler
  ``await trio.sleep(io_s)`` (only when ``io_s > 0``), then sends ``h11.Response(200)`` with
  Content-Type and Content-Length, ``h11.Data(body)`` and ``h11.EndOfMessage()``: the three
  ``conn.send`` results joined into one ``send_all`` (one write per response, as h11 leaves the
  I/O to the caller); once ``our_state`` and ``their_state`` are both ``DONE`` it calls
  ``start_next_cycle()`` for the next request on the connection. An ``h11.RemoteProtocolError``
  (garbage) closes that connection; so do ``MUST_CLOSE`` (a client that asked to close) and ``PAUSED``
  (a protocol switch, which this server does not do).
- ``httptools``: the suite's same parser (``workloads.models.shared.http_parsing.RequestParser``)
  fed from ``receive_some``; for each request it completed, ``trio.sleep(io_s)`` when ``io_s > 0``
  and ``send_all(app.response)``, in order. A ``ParseError`` closes that connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import h11
import trio

from workloads.models.shared.http_parsing import ParseError, RequestParser
from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.http_data import CONTENT_TYPE, HttpApp
from workloads.specs.http_server import SAME_PARSER

HTTP_VARIANTS: tuple[str, ...] = ("h11", SAME_PARSER)

Handler = Callable[[trio.SocketStream], Awaitable[None]]


async def _h11_connection(app: HttpApp, stream: trio.SocketStream) -> None:
    body = app.body
    io_s = app.io_s
    headers = [("content-type", CONTENT_TYPE), ("content-length", str(len(body)))]
    conn = h11.Connection(h11.SERVER)
    async with stream:
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some())  # b"" tells h11 the client closed
                    continue
                if type(event) is h11.Request:
                    if io_s > 0:
                        await trio.sleep(io_s)
                    response = conn.send(h11.Response(status_code=200, headers=headers))
                    data = conn.send(h11.Data(data=body))
                    end = conn.send(h11.EndOfMessage())
                    await stream.send_all(b"".join((response, data, end)))
                elif type(event) is h11.ConnectionClosed or event is h11.PAUSED:
                    return  # the client closed, or wants what this server does not do (a protocol switch)
                if conn.our_state is h11.MUST_CLOSE:
                    return  # the client asked to close after this response
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
        except (h11.RemoteProtocolError, trio.BrokenResourceError):
            pass  # garbage, or the client went away: only this connection ends


async def _same_parser_connection(app: HttpApp, stream: trio.SocketStream) -> None:
    response = app.response
    io_s = app.io_s
    parser = RequestParser()
    async with stream:
        try:
            while data := await stream.receive_some():
                for _ in range(parser.feed(data)):
                    if io_s > 0:
                        await trio.sleep(io_s)
                    await stream.send_all(response)
        except (ParseError, trio.BrokenResourceError):
            pass  # garbage, or the client went away: only this connection ends


async def _serve(handler: Handler, control: ServerControl) -> None:
    listeners = await trio.open_tcp_listeners(0, host=ECHO_HOST, backlog=LISTEN_BACKLOG)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(trio.serve_listeners, handler, listeners))
        control.listening(listeners[0].socket.getsockname()[1])
        await trio.lowlevel.wait_readable(control.stop_fd)
        nursery.cancel_scope.cancel()  # closes the listeners and every connection's stream


def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
    if variant == "h11":
        handler: Handler = partial(_h11_connection, app)
    elif variant == SAME_PARSER:
        handler = partial(_same_parser_connection, app)
    else:
        raise ValueError(f"unknown http_server variant {variant!r}; this model offers {HTTP_VARIANTS}")
    trio.run(_serve, handler, control)
