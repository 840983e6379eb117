"""``ccenter demo``: the main job on the embedded defaults.

One process: the simulated PBX, the IVR running the shipped telecom flow, the ACD engine, the
agent desktop(s) and the customer window, on SQLite in the user's data folder (seeded with demo
data on first use) and without a broker. The demo agents beyond the desktops are simulated, and
customers call at a realistic rate.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..cli import settings_from
from ..config import data_dir, has_display

if TYPE_CHECKING:
    from crm import db

    from ..democenter import DemoCenter

DEMO_CUSTOMERS = 2_000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "demo",
        parents=[common],
        help="run the product on embedded defaults (simulated PBX, SQLite, in-process bus) with demo data",
        description=(
            "Opens the agent workstation on the simulated PBX, with the IVR and the ACD running in the same "
            "process, over a demo database in your data folder (seeded on first use). Customers call at a "
            "realistic rate; agents other than the desktops are simulated."
        ),
    )
    parser.add_argument("--agents", type=int, default=1, metavar="N", help="agent desktops to open (default 1)")
    parser.add_argument("--calls-per-hour", type=float, default=120.0, metavar="R",
                        help="inbound calls per hour (default 120)")
    parser.add_argument("--style", choices=("light", "dark"), default="light", help="look (default light)")
    parser.add_argument("--lang", metavar="LANG",
                        help="language of the desktop: en or zh_CN (default: CCENTER_LANG, else the system's)")
    parser.add_argument("--screenshots", type=Path, metavar="DIR",
                        help="play a scripted call, save PNGs of the windows in DIR, and exit")
    parser.set_defaults(func=run)


def _numbers(session: db.Session, *, vip_with_offer: bool) -> list[str]:
    from sqlalchemy import select

    from crm.models import Customer, PhoneNumber, Tier, WorkItem, WorkItemStatus

    query = (
        select(PhoneNumber.e164)
        .join(Customer, Customer.id == PhoneNumber.customer_id)
        .where(PhoneNumber.is_primary.is_(True))
        .order_by(Customer.id)
    )
    if vip_with_offer:
        query = query.join(WorkItem, WorkItem.customer_id == Customer.id).where(
            Customer.tier == Tier.VIP, WorkItem.status == WorkItemStatus.PENDING
        )
    return list(session.scalars(query.limit(1 if vip_with_offer else 500)))


def _call_all(center: DemoCenter, numbers: list[str], keys: tuple[str, ...]) -> None:
    for number in numbers:
        center.inbound(number, script=keys)


def run(args: argparse.Namespace) -> int:
    if args.agents < 1:
        print("ccenter: error: --agents must be at least 1", file=sys.stderr)
        return 1
    if not has_display():
        if args.screenshots is None:
            print("ccenter: error: no display to open the desktop on (DISPLAY is not set): run it in a desktop "
                  "session or on a virtual display (xvfb-run -a ccenter demo), or add --screenshots DIR to play "
                  "a scripted session without one and save PNGs of its windows in DIR", file=sys.stderr)
            return 1
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # screenshots need no screen
    import resources
    from crm import db, repository
    from crm.seed import seed

    settings = settings_from(args)
    engine = db.connect(settings.db_url)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with factory() as session:
        empty = repository.count_customers(session) == 0
    if empty:
        print(f"seeding {DEMO_CUSTOMERS:,} demo customers into {db.safe_url(settings.db_url)} ...", file=sys.stderr)
        seed(engine, customers=DEMO_CUSTOMERS)

    from agent_desktop.customer_window import CustomerDirectory
    from agent_desktop.demo import DemoScript, run_workstation_demo
    from agent_desktop.queues import QueueStatsFeed
    from agent_desktop.supervisor import AgentStateFeed
    from cti.sim import SimLink, SimPbx
    from ivr.crm_lookup import CrmLookup
    from ivr.flow import load_flow
    from ivr.reporting import SessionStore

    from ..democenter import DEMO_QUEUES, AgentSeat, DemoCenter

    with factory() as session:
        agents = [a for a in repository.list_agents(session) if a.role == "agent" and a.extension]
        callers = _numbers(session, vip_with_offer=False)
        vip = _numbers(session, vip_with_offer=True)
    if len(agents) < args.agents:
        print(f"ccenter: error: the database has {len(agents)} agents with an extension", file=sys.stderr)
        return 1
    desks = agents[: args.agents]
    seats = [AgentSeat(a.login, a.extension or "", dict(a.skills), simulated=a not in desks) for a in agents]
    pbx = SimPbx(extensions=[a.extension or "" for a in agents], trunks=60)
    scripted = args.screenshots is not None
    feed = QueueStatsFeed()
    agent_feed = AgentStateFeed()
    center = DemoCenter(
        pbx,
        flow=load_flow(resources.path("ivr", "telecom.yaml")),
        lookup=CrmLookup(factory, region=settings.default_region),
        seats=seats,
        simulated_ready=not scripted,  # in the script, only you take calls; the others are in training
        agent_sink=agent_feed.publish,
        caller_numbers=callers,
        calls_per_hour=0.0 if scripted else args.calls_per_hour,
        stats_sink=feed.publish,
        record_sink=SessionStore(factory).store,
    )
    script = DemoScript(
        place_inbound=lambda number: center.inbound(number, script=("1", "1234#", "3")),
        hang_up_far_end=pbx.far_hangup,
        vip_number=vip[0] if vip else callers[0],
        place_waiting_calls=lambda: _call_all(center, callers[5:7], ("1", "1234#", "2", "1")),
    )
    try:
        return run_workstation_demo(
            link=SimLink(pbx, realtime=True),
            agents=desks,
            directory=CustomerDirectory(factory, settings.default_region),
            outbox_dir=data_dir(),
            on_loop=center.run,
            observers=[center.observe],
            screenshots=args.screenshots,
            script=script,
            style=args.style,
            language=args.lang,
            queue_stats=feed,
            queues_for=lambda agent: {q for q, skill in DEMO_QUEUES.items() if skill in agent.skills},
            agent_states=agent_feed,
            explain=center.explain,
        )
    finally:
        engine.dispose()
