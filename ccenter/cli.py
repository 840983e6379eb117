"""The ``ccenter`` command.

Each module of :mod:`ccenter.commands` adds its sub-commands through ``register(subparsers, common)``;
``common`` is the parent parser that gives a sub-command the shared ``--db``, ``--mqtt`` and
``--config`` options. A sub-command's handler takes the parsed arguments and returns an exit code.
Building the parser imports every command module, so their top level imports only the standard
library, this package's light modules and the packages' error classes; a handler imports what its
command needs (SQLAlchemy, the bus, Qt, the IVR engine) when it runs. ``ccenter --help`` and
``ccenter cti decode`` thus start in a tenth of the time (tests/ccenter/test_startup.py, bench/startup.py).
Errors that users can cause (bad input, unreachable services) are printed as one line, without a
traceback; anything else is a bug and keeps its traceback. Output piped into a reader that stops early
(``ccenter customer show ... | head``) ends the command quietly, as Python's documentation advises for
``BrokenPipeError`` (library/signal.html, "Note on SIGPIPE").
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from bus.errors import BusError
from crm.errors import CrmError

from . import __version__, commands
from .config import ConfigError, Settings, load_settings

logger = logging.getLogger(__name__)

#: Root exceptions of the packages: their messages are written for the user.
USER_ERRORS: tuple[type[Exception], ...] = (ConfigError, CrmError, BusError)


def _user_errors() -> tuple[type[Exception], ...]:
    errors = list(USER_ERRORS)
    for module_name, class_name in (
        ("cti.errors", "CtiError"),
        ("ivr.errors", "IvrError"),
        ("routing.errors", "RoutingError"),
    ):
        try:
            errors.append(getattr(importlib.import_module(module_name), class_name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("data and bus")
    group.add_argument(
        "--db", metavar="URL", help="database URL (env CCENTER_DB; default: SQLite in the user data folder)"
    )
    group.add_argument(
        "--mqtt",
        metavar="URL",
        help="MQTT broker URL, mqtt://user:pass@host:1883 (env CCENTER_MQTT; default: in-process bus)",
    )
    group.add_argument("--config", metavar="FILE", help="TOML configuration file (env CCENTER_CONFIG)")
    return common


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(db=args.db, mqtt=args.mqtt, config_file=args.config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccenter",
        description="Contact-center suite: agent desktop, IVR, ACD routing, outbound campaigns, CTI.",
    )
    parser.add_argument("--version", action="version", version=f"ccenter {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line on stderr")
    parser.add_argument(
        "--log-file", metavar="FILE",
        help="also log to FILE, rotated by size (env CCENTER_LOG_FILE; [log] of the configuration file)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = common_options()
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from pathlib import Path

    from .config import load_log_settings
    from .logs import setup_logging

    try:
        log = load_log_settings(getattr(args, "config", None))
        setup_logging(
            verbosity=args.verbose, as_json=args.log_json or log.json, level=log.level,
            file=Path(args.log_file) if args.log_file else log.file, max_bytes=log.max_bytes,
            backups=log.backups, levels=log.levels,
        )
    except ConfigError as exc:
        print(f"ccenter: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ccenter: error: cannot open the log file: {exc}", file=sys.stderr)
        return 1
    from bus.messages import install_text_guard
    from crm.masking import mask_text

    install_text_guard(mask_text)  # no card number reaches the bus in clear, whoever publishes it
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # here, so that a reader gone away is seen below, not at exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except _user_errors() as exc:
        print(f"ccenter: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """The reader of our output has gone (``| head``): send what is left to devnull, so that flushing
    at exit raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind stdout (tests capture it)
        pass


if __name__ == "__main__":
    sys.exit(main())
