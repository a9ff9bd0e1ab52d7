"""One saving session at a time in a pytest-benchmark storage folder (``.benchmarks/`` by default).

pytest-benchmark numbers a saved run after the newest file it finds (``0007_…json``), then writes it: two
sessions saving at once pick the same number, and the reports' "newest run" is then ambiguous. An
exclusive ``flock`` on ``<storage>/.corobench-save.lock`` serialises the numbering and the write; a
session waits for another one's save, which takes a moment. Storage other than a folder (``elasticsearch+…``)
is left alone.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = ".corobench-save.lock"


def storage_folder(option: str | None) -> Path | None:
    """The folder ``--benchmark-storage`` names (``file://PATH`` or a bare path), or None for other storage."""
    value = option or "file://./.benchmarks"
    if value.startswith("file://"):
        return Path(value.removeprefix("file://"))
    if "://" in value:
        return None
    return Path(value)


class StorageLock:
    """An exclusive lock on a storage folder, held from ``acquire`` to ``release``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
