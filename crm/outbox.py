"""Writes kept on local disk while the database is away, written later in order, each once.

Every process that writes what must not be lost (the desktop's contacts with their orders and
service requests, the dialer's attempts) writes through an :class:`Outbox`. :meth:`Outbox.save`
writes now; if the database does not answer (:class:`~crm.errors.DatabaseUnavailable`), the record
goes to a JSON-lines file (fsynced, replaced atomically) and :meth:`Outbox.flush` writes the pending
records, oldest first, when asked. The write function must be idempotent on the record's key (a
unique column such as ``contact.client_ref`` or ``attempt.client_ref``), so a record written just
before the link broke is never duplicated by its retry. Nothing is lost if the process stops
meanwhile: the file is read again at start. A record the database refuses for what it is (a
:class:`~crm.errors.CrmError` other than unavailability) is set aside in ``<name>.rejected.jsonl``
for a person to look at, rather than blocking every later record behind it.

The outbox is thread-safe: :meth:`save` and :meth:`flush` take turns on one lock that nothing else
takes; :attr:`pending` and :meth:`keys` never wait on database I/O.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from .errors import CrmError, DatabaseUnavailable

logger = logging.getLogger(__name__)

#: Errors that mean "the database is away, try later" rather than "this record is wrong".
TRANSIENT: tuple[type[Exception], ...] = (DatabaseUnavailable,)

R = TypeVar("R")


class Outbox(Generic[R]):
    """Records of type ``R`` written by ``write`` now, or kept in ``path`` until the database answers.

    ``encode``/``decode`` turn a record into a JSON object and back; ``key`` names it (logs, and
    :meth:`keys` for callers that must not act on a record still pending); ``what`` is the word
    logs use for a record ("contact", "attempt"); ``log`` is the logger of the owner.
    """

    def __init__(self, path: Path, write: Callable[[R], Any], *, encode: Callable[[R], dict[str, Any]],
                 decode: Callable[[dict[str, Any]], R], key: Callable[[R], str], what: str = "record",
                 log: logging.Logger = logger) -> None:
        self.path = path
        self.rejected = path.with_suffix(".rejected.jsonl")
        self._write_one = write
        self._encode = encode
        self._decode = decode
        self._key = key
        self.what = what
        self.log = log
        self._writing = threading.Lock()  # one writer to the database at a time
        self._lock = threading.Lock()  # the pending list and its file
        self._pending: list[R] = self._load()
        self._count = len(self._pending)

    def _load(self) -> list[R]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(self._decode(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                self.log.error("%s line %d: unreadable pending %s skipped (%s)", self.path, number, self.what, exc)
        return records

    def _store(self) -> None:
        """Write the pending list to its file (under ``_lock``), and publish its length."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as fh:
            for record in self._pending:
                fh.write(json.dumps(self._encode(record), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        temporary.replace(self.path)
        self._count = len(self._pending)

    @property
    def pending(self) -> int:
        """How many records wait for the database. Never blocks (one attribute read)."""
        return self._count

    def records(self) -> list[R]:
        """The records waiting for the database, oldest first (a copy; never waits on database I/O)."""
        with self._lock:
            return list(self._pending)

    def keys(self) -> set[str]:
        with self._lock:
            return {self._key(r) for r in self._pending}

    def save(self, record: R) -> Any:
        """Write ``record`` (after any older pending ones) and return what ``write`` returned; None
        means it is kept for later. Blocking."""
        with self._writing:
            with self._lock:
                queued = bool(self._pending)
            if not queued:
                try:
                    return self._write_one(record)
                except TRANSIENT as exc:
                    self.log.warning("database unavailable, %s %s kept locally: %s", self.what, self._key(record),
                                     str(exc).splitlines()[0])
            with self._lock:
                self._pending.append(record)
                self._store()
        self.flush()
        return None

    def flush(self) -> int:
        """Write what is pending, oldest first; returns how many were written. Blocking."""
        written = 0
        with self._writing:
            while True:
                # Only a holder of ``_writing`` removes records, and others only append: the
                # record at the head stays the head while it is written without ``_lock``.
                with self._lock:
                    if not self._pending:
                        break
                    record = self._pending[0]
                try:
                    self._write_one(record)
                except TRANSIENT:
                    break
                except CrmError as exc:
                    self.log.error("pending %s %s refused: %s; kept in %s", self.what, self._key(record), exc,
                                   self.rejected)
                    with self.rejected.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps(self._encode(record), ensure_ascii=False) + "\n")
                else:
                    written += 1
                with self._lock:
                    self._pending.pop(0)
                    self._store()
        if written:
            self.log.info("wrote %d pending %s(s)", written, self.what)
        return written
