"""``ccenter campaign import|export|list``: the BI campaign files from a terminal (docs/campaigns.md)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import TYPE_CHECKING, TextIO

from ..cli import settings_from

if TYPE_CHECKING:
    from crm.campaign_files import ImportReport

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
            report = campaign_files.import_file(session, args.file, region=region,
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
            rows = campaign_files.export_results(session, args.campaign, out, attempts=args.attempts)
    finally:
        engine.dispose()
    where = "standard output" if args.out == "-" else args.out
    print(
        f"wrote {rows} {'attempts' if args.attempts else 'work items'} of {args.campaign} to {where}",
        file=sys.stderr if args.out == "-" else sys.stdout,
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from crm import campaign_files, db

    settings = settings_from(args)
    engine = db.open_current(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            campaigns = campaign_files.list_campaigns(session)
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
    return 0
