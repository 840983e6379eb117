"""``ccenter customer find|show|consent``: the customer look-ups from a terminal, and their consent to
marketing per channel."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from crm.errors import NotFound

from ..cli import settings_from


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("customer", help="look customers up: by name, phone number or account")
    commands = parser.add_subparsers(dest="customer_command", metavar="ACTION", required=True)
    find = commands.add_parser(
        "find", parents=[common], help="search by name prefix, phone number (any written form) or account number"
    )
    find.add_argument("text", help='for example "Ada", "(415) 555-0100", "+86 138 0013 8000" or "10000042"')
    find.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    find.set_defaults(func=run_find)
    show = commands.add_parser("show", parents=[common], help="print one customer's 360 view as JSON")
    who = show.add_mutually_exclusive_group(required=True)
    who.add_argument("--id", type=int, help="customer id")
    who.add_argument("--phone", help="a phone number of the customer (the first match is shown)")
    who.add_argument("--account", help="an account number of the customer")
    show.set_defaults(func=run_show)
    consent = commands.add_parser(
        "consent", parents=[common],
        help="record a customer's consent to marketing per channel, or show it",
        description="With --grant or --refuse, record what the customer said (the newest record for a channel, "
                    "or for 'all', decides; campaigns leave out a refused channel at once). Without, print "
                    "what decides per channel now.",
    )
    consent.add_argument("customer_id", type=int, metavar="CUSTOMER_ID")
    consent.add_argument("--grant", action="append", default=[], metavar="CHANNEL",
                         help="outbound_call, inbound_offer, sms, email or all (may be repeated)")
    consent.add_argument("--refuse", action="append", default=[], metavar="CHANNEL",
                         help="outbound_call, inbound_offer, sms, email or all (may be repeated)")
    consent.add_argument("--source", default="cli", help="where the customer said it (default: cli)")
    consent.set_defaults(func=run_consent)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def run_find(args: argparse.Namespace) -> int:
    from crm import db, repository

    settings = settings_from(args)
    engine = db.open_current(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            found = repository.search_customers(session, args.text, settings.default_region, limit=args.limit)
    finally:
        engine.dispose()
    for customer in found:
        print(json.dumps(_plain(customer), ensure_ascii=False))
    if not found:
        print(f"ccenter: no customer matches {args.text!r}", file=sys.stderr)
        return 3
    return 0


def run_show(args: argparse.Namespace) -> int:
    from crm import db, repository

    settings = settings_from(args)
    engine = db.open_current(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            if args.id is not None:
                customer_id = args.id
            elif args.account is not None:
                customer_id = repository.find_customer_by_account(session, args.account).id
            else:
                matches = repository.find_customers_by_phone(session, args.phone, settings.default_region)
                if not matches:
                    raise NotFound(f"no customer has the number {args.phone!r}")
                customer_id = matches[0].id
            view = repository.customer_360(session, customer_id)
    finally:
        engine.dispose()
    print(json.dumps(_plain(view), ensure_ascii=False, indent=2))
    return 0


def run_consent(args: argparse.Namespace) -> int:
    from crm import consent, db

    overlap = set(args.grant) & set(args.refuse)
    if overlap:
        print(f"ccenter: error: {', '.join(sorted(overlap))} both granted and refused", file=sys.stderr)
        return 2
    settings = settings_from(args)
    engine = db.open_current(settings.db_url)
    try:
        if args.grant or args.refuse:
            with db.transaction(db.session_factory(engine)) as session:
                for channel in args.grant:
                    consent.record_consent(session, args.customer_id, channel, granted=True, source=args.source)
                for channel in args.refuse:
                    consent.record_consent(session, args.customer_id, channel, granted=False, source=args.source)
        with db.session_factory(engine)() as session:
            overview = consent.consent_overview(session, args.customer_id)
    finally:
        engine.dispose()
    for channel, state, when, source in overview:
        said = f"\t{when.isoformat(timespec='seconds')}\t{source or ''}" if when is not None else ""
        print(f"{channel}\t{state.value}{said}")
    return 0
