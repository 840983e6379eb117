"""``ccenter campaign import|export|list|why|purge-decisions``: the BI campaign files from a terminal, and
every dial decision explained (docs/campaigns.md)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import TYPE_CHECKING, TextIO

from ..cli import settings_from

if TYPE_CHECKING:
    from crm.campaign_files import ImportReport
    from crm.repository import DialDecisionRecord

logger = logging.getLogger(__name__)

SHOWN_REJECTS = 10


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("campaign", help="campaign plans and target lists in, results out (BI files)")
    commands = parser.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)
    load = commands.add_parser(
        "import", parents=[common],
        help="import a plan (.json) or a target list (.csv); unusable rows go to <name>.rejects.csv",
    )
    load.add_argument("file", metavar="FILE", help="PLAN.json, or TARGETS.csv whose rows carry campaign_id")
    load.add_argument("--region", help="country of phone numbers written without +prefix (default: configured)")
    load.set_defaults(func=run_import)
    export = commands.add_parser("export", parents=[common], help="write a campaign's results as CSV for BI")
    export.add_argument("campaign", metavar="CAMPAIGN", help="the campaign_id of the plan")
    export.add_argument("out", metavar="FILE", help="the CSV file to write (UTF-8 with BOM), or - for standard output")
    export.add_argument("--attempts", action="store_true", help="one row per attempt instead of per work item")
    export.set_defaults(func=run_export)
    listing = commands.add_parser("list", parents=[common], help="campaigns with their work items by status")
    listing.set_defaults(func=run_list)
    why = commands.add_parser(
        "why", parents=[common],
        help="why a number or work item was (not) dialled, or why a campaign's dialer is idle now",
        description="WHAT is a campaign_id (why its dialer is idle now, and its last hour's decisions), a work "
                    "item id (its decisions), or a phone number (the decisions about it in every campaign). "
                    "A campaign_id of digits only wins over a work item id of the same digits.",
    )
    why.add_argument("what", metavar="PHONE|WORK_ITEM|CAMPAIGN")
    why.add_argument("--limit", type=int, default=50, metavar="N", help="decisions shown, newest first (50)")
    why.add_argument("--region", help="country of a phone number written without +prefix (default: configured)")
    why.set_defaults(func=run_why)
    purge = commands.add_parser(
        "purge-decisions", parents=[common],
        help="delete dial decisions older than the retention period (the dialer does it hourly itself)",
    )
    purge.add_argument("--older-than", type=float, default=90.0, metavar="DAYS",
                       help="delete decisions older than this many days (90)")
    purge.set_defaults(func=run_purge)


def format_report(report: ImportReport) -> list[str]:
    """The import report as a user reads it."""
    lines = [f"imported {report.source} ({report.kind}, {report.encoding})"]
    for key in report.campaigns:
        lines.append(f"campaign {key}: {'created' if key in report.campaigns_created else 'updated'}")
    lines.append(
        f"rows: {report.rows}; work items: {report.work_items_created} created, {report.work_items_updated} "
        f"updated, {report.work_items_unchanged} unchanged; prospects created: {report.prospects_created}"
    )
    lines.extend(f"note: {note}" for note in report.notes)
    if report.rejects:
        where = f", written to {report.rejects_path}" if report.rejects_path else ""
        lines.append(f"rejected: {len(report.rejects)}{where}")
        for reject in report.rejects[:SHOWN_REJECTS]:
            lines.append(f"  line {reject.line}: {reject.reason}")
        if len(report.rejects) > SHOWN_REJECTS:
            lines.append(f"  ... and {len(report.rejects) - SHOWN_REJECTS} more")
    else:
        lines.append("rejected: 0")
    return lines


class ProgressBar:
    """One line on the terminal, redrawn: how far into the file an import is, and its rate."""

    WIDTH = 30

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()
        self.drawn = False

    def update(self, line: int, lines: int) -> None:
        share = line / lines if lines else 1.0
        done = int(share * self.WIDTH)
        rate = line / max(time.monotonic() - self.started, 1e-6)
        self.out.write(f"\r[{'#' * done}{'.' * (self.WIDTH - done)}] {share:4.0%}  line {line:,} of {lines:,}  "
                       f"{rate:,.0f} lines/s ")
        self.out.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()


def run_import(args: argparse.Namespace) -> int:
    from crm import campaign_files, db

    settings = settings_from(args)
    region = (args.region or settings.default_region).upper()
    engine = db.open_current(settings.db_url)
    bar = ProgressBar(sys.stdout) if sys.stdout.isatty() else None
    try:
        with db.transaction(db.session_factory(engine)) as session:
            report = campaign_files.import_file(session, args.file, region=region, site=settings.site,
                                                progress=bar.update if bar else None)
    finally:
        engine.dispose()
        if bar is not None:
            bar.close()
    for line in format_report(report):
        print(line)
    if report.rows and report.rows_loaded == 0:
        print("ccenter: error: no target row could be used", file=sys.stderr)
        return 1
    return 0


def run_export(args: argparse.Namespace) -> int:
    from crm import campaign_files, db

    settings = settings_from(args)
    engine = db.open_current(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            out = sys.stdout if args.out == "-" else args.out
            rows = campaign_files.export_results(session, args.campaign, out, site=settings.site,
                                                  attempts=args.attempts)
    finally:
        engine.dispose()
    where = "standard output" if args.out == "-" else args.out
    print(
        f"wrote {rows} {'attempts' if args.attempts else 'work items'} of {args.campaign} to {where}",
        file=sys.stderr if args.out == "-" else sys.stdout,
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from crm import campaign_files, db, repository

    settings = settings_from(args)
    engine = db.open_current(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            campaigns = campaign_files.list_campaigns(session, site=settings.site)
            now = datetime.now(UTC)
            callbacks = repository.callback_service_level(session, since=now - timedelta(days=1), until=now, now=now,
                                                          site=settings.site)
    finally:
        engine.dispose()
    if not campaigns:
        print("no campaigns")
        return 0
    rows = [("CAMPAIGN", "STATUS", "DIAL MODE", "CHANNELS", "WORK ITEMS", "NAME")]
    for c in campaigns:
        items = ", ".join(f"{status} {n}" for status, n in c.work_items.items() if n) or "none"
        rows.append((c.campaign_key, c.status, c.dial_mode, ",".join(c.channels) or "-", items, c.name))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    if callbacks.requested:
        level = f"{callbacks.service_level:.0%}" if callbacks.service_level is not None else "-"
        print(f"callbacks promised to callers in the last 24 h: {callbacks.requested}; made in time "
              f"{callbacks.made_in_time}, late {callbacks.made_late}, waiting {callbacks.waiting}, overdue "
              f"{callbacks.overdue}; service level {level}")
    return 0


def _when(moment: object) -> str:
    from datetime import UTC, datetime

    if not isinstance(moment, datetime):
        return "-"
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _decision_lines(records: list[DialDecisionRecord]) -> list[str]:
    lines = []
    for r in records:
        verdict = "dialled" if r.dialled else f"skipped ({r.rule})"
        retry = f"; may be eligible from {_when(r.retry_at)}" if r.retry_at is not None and not r.dialled else ""
        item = f"work item {r.work_item_id}" if r.work_item_id is not None else "work item (deleted)"
        lines.append(f"{_when(r.decided_at)}  {r.campaign_key}  {item}  {r.phone or '-'}  {verdict}: "
                     f"{r.reason}{retry}")
    return lines


def run_why(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from crm import db, repository

    settings = settings_from(args)
    region = (args.region or settings.default_region).upper()
    now = datetime.now(UTC)
    engine = db.open_current(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            kind, what = repository.why_target(session, args.what, region=region, site=settings.site)
            if kind == "campaign":
                assert isinstance(what, str)
                state = repository.campaign_now(session, what, now=now, site=settings.site)
                print(f"campaign {what} ({state.dial_mode}): {state.open_items} open work items to dial, "
                      f"{state.due_items} due now" + (f", next due {_when(state.next_due_at)}"
                                                     if state.next_due_at else ""))
                if state.blockers:
                    print("the dialer calls nobody now:")
                    for blocker in state.blockers:
                        print(f"  - {blocker}")
                else:
                    print("the dialer has work: it dials when agents of the campaign's queue are ready "
                          "(the ACD's statistics); see `ccenter acd explain`")
                if state.recent:
                    print("last hour: " + ", ".join(f"{rule} {n}" for rule, n in sorted(state.recent.items())))
                records = repository.decisions(session, site=settings.site, campaign_key=what, limit=args.limit)
            elif kind == "work_item":
                assert isinstance(what, int)
                records = repository.decisions(session, site=settings.site, work_item_id=what, limit=args.limit)
                if not records:
                    print(f"no dial decision kept about work item {what}")
            else:
                assert isinstance(what, str)
                records = repository.decisions(session, site=settings.site, phone=what, limit=args.limit)
                if not records:
                    print(f"no dial decision kept about {what}")
    finally:
        engine.dispose()
    for line in _decision_lines(records):
        print(line)
    return 0


def run_purge(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from crm import db, repository

    if not args.older_than > 0:
        print("ccenter: error: --older-than must be a number of days > 0", file=sys.stderr)
        return 2
    settings = settings_from(args)
    before = datetime.now(UTC) - timedelta(days=args.older_than)
    engine = db.open_current(settings.db_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            purged = repository.purge_decisions(session, before=before)
    finally:
        engine.dispose()
    print(f"purged {purged} dial decisions made before {_when(before)}")
    return 0
