"""Writes kept on local disk while the database is away, written later in order, each once.

Every process that writes what must not be lost (the desktop's contacts with their orders and
service requests, the dialer's attempts, the IVR's session records) writes through an :class:`Outbox`.
:meth:`Outbox.save` writes now; if the database does not answer (:class:`~crm.errors.DatabaseUnavailable`),
the record goes to a local file and :meth:`Outbox.flush` writes the pending records, oldest first, when
asked. The write function must be idempotent on the record's key (a unique column such as
``contact.client_ref`` or ``attempt.client_ref``), so a record written just before the link broke is
never duplicated by its retry. Nothing is lost if the process stops meanwhile: the file is read again
at start. A record the database refuses for what it is (a :class:`~crm.errors.CrmError` other than
unavailability) is set aside in ``<name>.rejected.jsonl`` for a person to look at, rather than
blocking every later record behind it.

**The file is a journal** of JSON lines, appended to, never rewritten on a change (rewriting it whole
on every record made a long outage cost time quadratic in the records waiting):

- ``{"+": n, "r": {...}}`` a record kept (``n`` its sequence number in this file), fsynced before
  :meth:`Outbox.save` returns;
- ``{"-": n}`` record ``n`` written to the database (a tombstone). Tombstones are fsynced once per
  :meth:`Outbox.flush`, not one by one: one lost in a power cut only makes its record written again,
  which the record's idempotent key absorbs;
- a line that is a record itself (the format before the journal) is a record kept.

The journal is compacted (the records still pending written to a new file, fsynced, renamed over the
old one) when its lines are mostly tombstones, when nothing is pending any more (it is then emptied),
and at start when it needs it. A last line torn by a crash (no end of line, not JSON) is skipped with a
warning: the record it held was never reported kept. An unreadable line elsewhere is skipped with an
error; the records around it are kept.

The outbox is thread-safe: :meth:`save` and :meth:`flush` take turns on one lock that nothing else
takes; :attr:`pending` and :meth:`keys` never wait on database I/O. One process uses a file at a
time (``ccenter.commands.dialer.claim_outbox`` locks it for the dialer and the IVR).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from .errors import CrmError, DatabaseUnavailable

logger = logging.getLogger(__name__)

#: Errors that mean "the database is away, try later" rather than "this record is wrong".
TRANSIENT: tuple[type[Exception], ...] = (DatabaseUnavailable,)

#: A journal is compacted once it holds at least this many lines no longer needed, and at least as
#: many as the records pending (so compaction costs, amortized, a constant per record).
COMPACT_AFTER_LINES = 1024

_ADD = "+"
_DONE = "-"

R = TypeVar("R")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def read_journal(path: Path, log: logging.Logger = logger, what: str = "record"
                 ) -> tuple[list[tuple[int, dict[str, Any]]], int, bool]:
    """The records pending in the journal ``path`` as ``(sequence, encoded record)``, oldest first; the
    number of lines read; and whether it must be rewritten before appending (a torn or unreadable line,
    lines of the format before the journal). A missing file is an empty journal."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0, False
    live: dict[int, dict[str, Any]] = {}
    rewrite = False
    lines = data.split(b"\n")
    torn = lines[-1] != b""  # the last line has no end of line: a write cut short
    if not torn:
        lines.pop()
    legacy = -1  # records of the old format get sequence numbers of their own, below any journal's
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        last = number == len(lines)
        try:
            entry = json.loads(raw.decode("utf-8"))
            if not isinstance(entry, dict):
                raise ValueError("not a JSON object")
            if _DONE in entry:
                live.pop(int(entry[_DONE]), None)
            elif _ADD in entry:
                record = entry["r"]
                if not isinstance(record, dict):
                    raise ValueError("its record is not a JSON object")
                live[int(entry[_ADD])] = record
            else:  # a line of the format before the journal: the record itself
                live[legacy] = entry
                legacy -= 1
                rewrite = True
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            rewrite = True
            if last and torn:
                log.warning("%s: its last line was cut short (the process stopped while writing it) and is "
                            "skipped; the %ss before it are kept", path, what)
            else:
                log.error("%s line %d: unreadable pending %s skipped (%s)", path, number, what, exc)
    if torn:
        rewrite = True
    pending = list(live.items())  # in the order of the file: the order they were kept in
    return pending, len(lines), rewrite


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
        self._lock = threading.Lock()  # the pending records and their file
        self._pending: deque[tuple[int, R]] = deque()
        self._lines = 0  # lines in the journal
        self._next = 0  # the next record's sequence number
        self._unsynced = False  # tombstones written and not yet fsynced
        #: compactions done (the journal rewritten with only the records pending)
        self.compactions = 0
        with self._lock:
            self._load()
        self._count = len(self._pending)

    def _load(self) -> None:
        entries, self._lines, rewrite = read_journal(self.path, self.log, self.what)
        for seq, encoded in entries:
            try:
                self._pending.append((seq, self._decode(encoded)))
            except (ValueError, KeyError, TypeError) as exc:
                self.log.error("%s: unreadable pending %s skipped (%s)", self.path, self.what, exc)
                rewrite = True
        self._next = max((seq for seq, _ in entries), default=-1) + 1
        if rewrite or self._lines > len(self._pending):
            self._compact()

    # -- the journal (under ``_lock``) ---------------------------------------------------------------
    def _append(self, line: str, *, sync: bool) -> None:
        # Opened for each line (no file left open by an outbox nobody closes): an open costs little
        # beside the fsync every record kept has.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        self._lines += 1

    def _sync(self) -> None:
        """fsync the tombstones written since the last time (any descriptor of the file will do)."""
        if self._unsynced:
            with contextlib.suppress(FileNotFoundError):
                fd = os.open(self.path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        self._unsynced = False

    def _compact(self) -> None:
        """Rewrite the journal with the pending records only: a new file, fsynced, renamed over the old."""
        self._unsynced = False
        if not self._pending and not self.path.exists():
            self._lines = 0
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as fh:
            for seq, record in self._pending:
                fh.write(_dumps({_ADD: seq, "r": self._encode(record)}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        temporary.replace(self.path)
        _sync_folder(self.path.parent)
        self._lines = len(self._pending)
        self.compactions += 1

    def _maybe_compact(self) -> None:
        dead = self._lines - len(self._pending)
        if dead and (not self._pending or dead >= max(COMPACT_AFTER_LINES, len(self._pending))):
            self._compact()

    # -- what callers use ------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """How many records wait for the database. Never blocks (one attribute read)."""
        return self._count

    def records(self) -> list[R]:
        """The records waiting for the database, oldest first (a copy; never waits on database I/O)."""
        with self._lock:
            return [record for _, record in self._pending]

    def keys(self) -> set[str]:
        with self._lock:
            return {self._key(r) for _, r in self._pending}

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
                seq = self._next
                self._append(_dumps({_ADD: seq, "r": self._encode(record)}), sync=True)
                self._next += 1
                self._pending.append((seq, record))
                self._count = len(self._pending)
        self.flush()
        return None

    def flush(self) -> int:
        """Write what is pending, oldest first; returns how many were written. Blocking."""
        written = 0
        with self._writing:
            try:
                while True:
                    # Only a holder of ``_writing`` removes records, and others only append: the
                    # record at the head stays the head while it is written without ``_lock``.
                    with self._lock:
                        if not self._pending:
                            break
                        seq, record = self._pending[0]
                    try:
                        self._write_one(record)
                    except TRANSIENT:
                        break
                    except CrmError as exc:
                        self.log.error("pending %s %s refused: %s; kept in %s", self.what, self._key(record), exc,
                                       self.rejected)
                        with self.rejected.open("a", encoding="utf-8") as fh:
                            fh.write(json.dumps(self._encode(record), ensure_ascii=False) + "\n")
                            fh.flush()
                            os.fsync(fh.fileno())
                    else:
                        written += 1
                    with self._lock:
                        self._pending.popleft()
                        self._append(_dumps({_DONE: seq}), sync=False)
                        self._unsynced = True
                        self._count = len(self._pending)
                        self._maybe_compact()
            finally:
                with self._lock:
                    self._sync()
        if written:
            self.log.info("wrote %d pending %s(s)", written, self.what)
        return written


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; nothing to do where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
