"""``ccenter db upgrade`` and ``ccenter db seed``."""

from __future__ import annotations

import argparse
import sys
import time

from ..cli import settings_from
from ..config import check_site


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("db", help="create, upgrade and seed the database")
    commands = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = commands.add_parser("upgrade", parents=[common], help="create the schema or upgrade it to the newest revision")
    up.set_defaults(func=run_upgrade)
    sd = commands.add_parser(
        "seed", parents=[common],
        help="fill an empty database with realistic demo data (customers, history, agents, queues, a campaign)"
    )
    sd.add_argument("--customers", type=int, default=1000, metavar="N", help="customers to add (default 1000)")
    sd.add_argument("--seed", type=int, default=7, metavar="N", help="random seed, for repeatable data (default 7)")
    sd.add_argument(
        "--site", metavar="SITE",
        help="seed this site's agents, queues and campaign (once; again it adds nothing); customers are shared "
             "by every site and added only to a database that has none",
    )
    sd.set_defaults(func=run_seed)


def run_upgrade(args: argparse.Namespace) -> int:
    from crm import db

    settings = settings_from(args)
    engine = db.connect(settings.db_url)
    try:
        db.upgrade(engine)
        print(f"database {db.safe_url(settings.db_url)} is at revision {db.current_revision(engine)}")
    finally:
        engine.dispose()
    return 0


def run_seed(args: argparse.Namespace) -> int:
    from crm import db, repository
    from crm.errors import InvalidData
    from crm.seed import DEMO_PASSWORD, DEMO_PIN, seed

    if args.customers < 0:
        print("ccenter: error: --customers must be zero or more", file=sys.stderr)
        return 1
    settings = settings_from(args)
    site = check_site(args.site, "--site") if args.site is not None else settings.site
    engine = db.connect(settings.db_url)
    try:
        db.upgrade(engine)
        with db.session_factory(engine)() as session:
            present = repository.count_customers(session)
            site_seeded = bool(repository.list_agents(session, site))
        if present and args.site is None:
            raise InvalidData(
                f"the database {db.safe_url(settings.db_url)} already holds {present:,} customers: "
                "`ccenter db seed` fills an empty database only (nothing was added; --site SITE adds a site)"
            )
        if present and site_seeded:
            print(f"site {site} is seeded already and the database holds {present:,} customers: nothing added")
            return 0
        started = time.perf_counter()
        report = seed(
            engine,
            customers=0 if present else args.customers,  # customers are every site's: added to an empty database
            random_seed=args.seed,
            progress=lambda n: print(f"  {n:,} customers ...", file=sys.stderr),
            site=site,
        )
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    print(
        f"added {report.customers:,} customers, {report.contacts:,} contacts, {report.orders:,} orders, "
        f"{report.service_requests:,} service requests, {report.communications:,} communications, "
        f"{report.work_items:,} campaign work items in {elapsed:.1f} s"
    )
    if report.agents:
        print(f"added {report.agents} agents, the queues and the campaign of site {site} (password "
              f"{DEMO_PASSWORD!r}); every demo account's PIN is {DEMO_PIN!r}")
    return 0
