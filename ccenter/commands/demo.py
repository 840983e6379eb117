"""``ccenter demo``: the main job on the embedded defaults."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import select

from crm import db, repository
from crm.models import Customer, PhoneNumber, Tier, WorkItem
from crm.seed import seed

from ..cli import settings_from

DEMO_CUSTOMERS = 2_000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "demo",
        parents=[common],
        help="run the product on embedded defaults (SQLite, in-process bus) with demo data",
        description="Opens the agent desktop over a demo database in your data folder, seeding it on first use.",
    )
    parser.add_argument("--agents", type=int, default=1, metavar="N", help="desktops to open (default 1)")
    parser.add_argument("--screenshots", type=Path, metavar="DIR",
                        help="play a scripted session, save PNGs of each window in DIR, and exit")
    parser.set_defaults(func=run)


def _sample_search(engine: db.Engine) -> str:
    """A VIP customer with an offer to pitch, found by phone number as an agent would."""
    with db.session_factory(engine)() as session:
        number = session.scalar(
            select(PhoneNumber.e164)
            .join(Customer, Customer.id == PhoneNumber.customer_id)
            .join(WorkItem, WorkItem.customer_id == Customer.id)
            .where(Customer.tier == Tier.VIP, PhoneNumber.is_primary.is_(True))
            .order_by(Customer.id)
            .limit(1)
        )
    return number or ""


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    engine = db.connect(settings.db_url)
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        empty = repository.count_customers(session) == 0
    if empty:
        print(f"seeding {DEMO_CUSTOMERS:,} demo customers into {db.safe_url(settings.db_url)} ...", file=sys.stderr)
        seed(engine, customers=DEMO_CUSTOMERS)
    from agent_desktop.customer_window import CustomerDirectory
    from agent_desktop.demo import run_demo

    directory = CustomerDirectory(db.session_factory(engine), settings.default_region)
    try:
        return run_demo(directory, sample_search=_sample_search(engine), screenshots=args.screenshots)
    finally:
        engine.dispose()
