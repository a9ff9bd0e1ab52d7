"""Length-prefixed JSON frames over a pair of pipes between pytest and a worker.

Each frame is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON. The worker's own pipes are read and written with ``posix.read`` and
``posix.write``: eventlet's monkey patching replaces ``os.read``/``os.write``
with green versions that cost ~25 us per call, and the protocol must not pay
a model-specific tax. Both sides use this module; it imports nothing heavy.
"""

from __future__ import annotations

import json
import posix
import struct
from typing import Any

_HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 64 * 1024 * 1024


class ChannelClosed(EOFError):
    """The other end closed its pipe (or died) before a whole frame arrived."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise ValueError(f"frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return _HEADER.pack(len(body)) + body


def write_frame(fd: int, message: dict[str, Any]) -> None:
    view = memoryview(encode(message))
    while view:
        written = posix.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    remaining = size
    while remaining:
        chunk = posix.read(fd, remaining)
        if not chunk:
            raise ChannelClosed(f"pipe closed with {remaining} of {size} bytes unread")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def decode_body(body: bytes) -> dict[str, Any]:
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError(f"frame is not a JSON object: {body[:80]!r}")
    return message


def take_frame(buffer: bytearray) -> dict[str, Any] | None:
    """Remove and return the first whole frame in ``buffer``, or None if incomplete."""
    if len(buffer) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack_from(buffer)
    if length > MAX_FRAME_BYTES:
        raise ValueError(f"frame header announces {length} bytes, more than {MAX_FRAME_BYTES}")
    end = _HEADER.size + length
    if len(buffer) < end:
        return None
    body = bytes(buffer[_HEADER.size : end])
    del buffer[:end]
    return decode_body(body)


def read_frame(fd: int) -> dict[str, Any]:
    (length,) = _HEADER.unpack(read_exactly(fd, _HEADER.size))
    if length > MAX_FRAME_BYTES:
        raise ValueError(f"frame header announces {length} bytes, more than {MAX_FRAME_BYTES}")
    return decode_body(read_exactly(fd, length))
