"""The same-parser tier's one parser: httptools (uvicorn's) over any model's byte stream.

Every model's ``httptools`` variant feeds what its own sockets read into ``RequestParser.feed``,
which returns how many whole requests the bytes completed; the model answers each, in order, with
``HttpApp.response`` after its own sleep of ``HttpApp.io_s``. So those rows share the parsing and
the response bytes, and differ by the concurrency model alone (vmbench's design).
"""

from __future__ import annotations

import httptools

from workloads.specs.http_data import HTTP_PATH

ParseError = httptools.HttpParserError
"""Raised by ``feed`` on bytes that are not an HTTP/1.1 request: the server closes that connection."""


class BadRequest(Exception):
    """A well-formed request this server does not serve (another path, or one that closes the connection).

    Raised inside a callback, so ``feed`` raises it as httptools' ``HttpParserCallbackError`` (a ``ParseError``)."""


class RequestParser:
    """Incremental request parsing for one connection; ``feed`` says how many requests completed."""

    __slots__ = ("_completed", "_parser", "_url")

    def __init__(self) -> None:
        self._completed = 0
        self._url = b""
        self._parser = httptools.HttpRequestParser(self)

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self._url += url  # the URL may arrive in pieces

    def on_message_complete(self) -> None:
        if self._url != HTTP_PATH.encode() or not self._parser.should_keep_alive():
            raise BadRequest(f"only keep-alive GET {HTTP_PATH} is served, got {self._url!r}")
        self._url = b""
        self._completed += 1

    def feed(self, data: bytes) -> int:
        """Parse ``data``; the number of requests it completed (0 while a request is still partial)."""
        self._parser.feed_data(data)
        completed, self._completed = self._completed, 0
        return completed
