"""Logging set-up: readable lines by default, one JSON object per line with ``--log-json``.

Records go to stderr (the journal, under systemd) and, when a file is configured (``[log] file`` or
``--log-file``), also to that file, rotated by size: ``acd.log`` becomes ``acd.log.1`` when it
reaches ``max_mb``, and ``backups`` old files are kept. The level comes from ``-v``/``-vv``, else
``[log] level`` (or ``CCENTER_LOG_LEVEL``), else WARNING; ``[log] levels`` sets single loggers.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from crm.masking import CardMaskingFilter

_HANDLER_NAME = "ccenter"
_FILE_HANDLER_NAME = "ccenter-file"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exc"] = record.exc_text
        elif record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record comes, never to a stream closed since
    (a test's captured stderr, a stream a host application replaced)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)

    def flush(self) -> None:
        self.stream = sys.stderr
        super().flush()


def setup_logging(
    *,
    verbosity: int = 0,
    as_json: bool = False,
    level: str | None = None,
    file: Path | None = None,
    max_bytes: int = 50 * 1024 * 1024,
    backups: int = 10,
    levels: Mapping[str, str] | None = None,
) -> None:
    """Log to stderr (and to ``file``, rotated at ``max_bytes`` keeping ``backups`` files).

    ``verbosity`` (``-v`` counts) wins over ``level`` (a name such as ``"info"``); ``levels`` sets
    single loggers (``{"cti.ami": "debug"}``). A file that cannot be opened raises ``OSError``.
    """
    if verbosity > 0:
        root_level = logging.INFO if verbosity == 1 else logging.DEBUG
    elif level is not None:
        root_level = logging.getLevelNamesMapping()[level.upper()]
    else:
        root_level = logging.WARNING
    formatter: logging.Formatter = (
        JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handlers: list[logging.Handler] = []
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handlers.append(handler)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=False
        )
        rotating.set_name(_FILE_HANDLER_NAME)
        handlers.append(rotating)
    root = logging.getLogger()
    # Replace our own handlers of an earlier call, and only those: handlers others installed (a host
    # application's, pytest's) keep receiving records.
    for old in [h for h in root.handlers if h.get_name() in (_HANDLER_NAME, _FILE_HANDLER_NAME)]:
        root.removeHandler(old)
        if old.get_name() == _FILE_HANDLER_NAME:
            old.close()
    for new in handlers:
        new.setFormatter(formatter)
        # Card numbers a caller keyed or an agent typed never reach a log line.
        new.addFilter(CardMaskingFilter())
        root.addHandler(new)
    root.setLevel(root_level)
    for name, value in (levels or {}).items():
        logging.getLogger(name).setLevel(logging.getLevelNamesMapping()[value.upper()])
