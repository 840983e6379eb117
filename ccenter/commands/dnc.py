"""``ccenter dnc add|remove|import|list``: the do-not-call list from a terminal (docs/campaigns.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta

from ..cli import settings_from

SHOWN_REJECTS = 10


def _expiry(text: str) -> datetime:
    """``--expires``: a date (the list holds through that whole day, UTC) or a date-time with offset."""
    try:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC) + timedelta(days=1)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (2025-12-31) or a date-time with offset") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone offset, such as {text}+08:00")
    return moment.astimezone(UTC)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("dnc", help="the do-not-call list: add, remove, import registry files, list")
    commands = parser.add_subparsers(dest="dnc_command", metavar="ACTION", required=True)
    region = argparse.ArgumentParser(add_help=False)
    region.add_argument("--region", help="country of numbers written without +prefix (default: configured)")

    add = commands.add_parser("add", parents=[common, region], help="list numbers (any written form)")
    add.add_argument("numbers", nargs="+", metavar="NUMBER")
    add.add_argument("--reason", help='why, for example "asked by letter"')
    add.add_argument("--source", default="manual", help="where the request came from (default: manual)")
    add.add_argument("--expires", type=_expiry, metavar="DATE", help="listed until this date (default: for good)")
    add.set_defaults(func=run_add)

    remove = commands.add_parser("remove", parents=[common, region], help="take numbers, or a whole source, off")
    remove.add_argument("numbers", nargs="*", metavar="NUMBER")
    remove.add_argument("--source", help="remove every entry of this source (such as an old registry edition)")
    remove.set_defaults(func=run_remove)

    load = commands.add_parser(
        "import", parents=[common, region],
        help="stream a registry file onto the list; unusable lines go to <name>.rejects.csv",
    )
    load.add_argument("file", metavar="FILE", help="one number a line, or a CSV with a phone column; - for stdin")
    load.add_argument("--source", required=True, help="the list's name and edition, such as national-2025-03")
    load.add_argument("--reason", help="why these numbers are listed (default: none)")
    load.add_argument("--expires", type=_expiry, metavar="DATE", help="listed until this date (default: for good)")
    load.add_argument("--replace", action="store_true",
                      help="this edition replaces the source's entries (other sources are kept)")
    load.set_defaults(func=run_import)

    listing = commands.add_parser("list", parents=[common], help="the numbers listed now, in number order")
    listing.add_argument("--source", help="only this source's entries")
    listing.add_argument("--prefix", help="only numbers starting with this E.164 prefix, such as +1415")
    listing.add_argument("--limit", type=int, help="at most this many")
    listing.add_argument("--count", action="store_true", help="print how many entries there are, not the entries")
    listing.set_defaults(func=run_list)


def _region(args: argparse.Namespace) -> str:
    return str(args.region or settings_from(args).default_region).upper()


def run_add(args: argparse.Namespace) -> int:
    from crm import db, dnc

    engine = db.connect(settings_from(args).db_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            fresh = dnc.add(session, args.numbers, region=_region(args), reason=args.reason, source=args.source,
                            expires_at=args.expires)
    finally:
        engine.dispose()
    print(f"listed {len(args.numbers)} number(s), {len(fresh)} new" + (f": {', '.join(fresh)}" if fresh else ""))
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from crm import db, dnc

    if not args.numbers and not args.source:
        print("ccenter: error: give the numbers to remove, or --source", file=sys.stderr)
        return 2
    engine = db.connect(settings_from(args).db_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            removed = dnc.remove(session, args.numbers, region=_region(args), source=args.source)
    finally:
        engine.dispose()
    print(f"removed {removed} entr{'y' if removed == 1 else 'ies'}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from crm import db, dnc

    engine = db.connect(settings_from(args).db_url)
    source_file = sys.stdin.buffer if args.file == "-" else args.file
    try:
        with db.transaction(db.session_factory(engine)) as session:
            report = dnc.import_numbers(session, source_file, region=_region(args), source=args.source,
                                        reason=args.reason, expires_at=args.expires, replace=args.replace)
    finally:
        engine.dispose()
    print(f"imported {report.source} as {args.source}: {report.lines} lines; {report.added} added, "
          f"{report.already_listed} already listed" + (f", {report.removed} replaced" if args.replace else ""))
    if report.rejected:
        where = f", written to {report.rejects_path}" if report.rejects_path else ""
        print(f"rejected: {report.rejected}{where}")
        for reject in report.rejects[:SHOWN_REJECTS]:
            print(f"  line {reject.line}: {reject.reason}")
        if report.rejected > SHOWN_REJECTS:
            print(f"  ... and {report.rejected - SHOWN_REJECTS} more")
    else:
        print("rejected: 0")
    if report.added + report.already_listed == 0 and report.rejected:
        print("ccenter: error: no line held a usable number", file=sys.stderr)
        return 1
    return 0


def run_list(args: argparse.Namespace) -> int:
    from crm import db, dnc

    engine = db.connect(settings_from(args).db_url)
    try:
        with db.session_factory(engine)() as session:
            if args.count:
                print(dnc.count(session, source=args.source))
                return 0
            shown = 0
            for entry in dnc.entries(session, source=args.source, prefix=args.prefix, limit=args.limit):
                expires = entry.expires_at.isoformat() if entry.expires_at else "-"
                print(f"{entry.e164}\t{entry.source or '-'}\t{entry.added_at.isoformat()}\t{expires}\t"
                      f"{entry.reason or ''}")
                shown += 1
    finally:
        engine.dispose()
    if not shown:
        print("no entries", file=sys.stderr)
    return 0
