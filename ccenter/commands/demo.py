"""``ccenter demo``: the main job on the embedded defaults.

One process runs what the production processes run (:mod:`ccenter.components`): the CTI gateway on
the simulated PBX, the IVR serving the shipped telecom flow over FastAGI, the ACD server and the
dialer, joined by the in-process bus instead of a broker, with the agent desktop(s) (each reaching
the gateway through a :class:`cti.buslink.BusLink` on that bus, as ``ccenter desktop`` does over
MQTT), the customer window and the supervisor window, on SQLite in the user's data folder (seeded
with demo data on first use). The demo agents beyond the desktops are simulated, and customers call at a realistic
rate (:mod:`ccenter.democenter`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..cli import settings_from
from ..config import data_dir, has_display

if TYPE_CHECKING:
    from collections.abc import Callable

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


def _call_all(center: DemoCenter, numbers: list[str], keys: tuple[str, ...]) -> None:
    for number in numbers:
        center.inbound(number, script=keys)


def run(args: argparse.Namespace) -> int:
    import resources
    from crm import db, repository
    from crm.demo_data import caller_numbers, ensure_queues
    from crm.seed import seed

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
    settings = settings_from(args)
    engine = db.connect(settings.db_url)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with factory() as session:
        empty = repository.count_customers(session) == 0
    if empty:
        print(f"seeding {DEMO_CUSTOMERS:,} demo customers into {db.safe_url(settings.db_url)} ...", file=sys.stderr)
        seed(engine, customers=DEMO_CUSTOMERS)

    from ..democenter import FLOW_QUEUES

    with db.transaction(factory) as session:
        added = ensure_queues(session, FLOW_QUEUES)  # the IVR flow hands calls to these queues too
    if added:
        print(f"added the IVR flow's queues {', '.join(added)} to the demo data", file=sys.stderr)

    from agent_desktop.customer_window import CustomerDirectory
    from agent_desktop.demo import DemoScript, run_workstation_demo
    from agent_desktop.queues import QueueStatsFeed
    from agent_desktop.supervisor import AgentStateFeed
    from bus.transport import InProcessBus
    from crm import supervision as crm_supervision
    from crm.repository import AgentView
    from cti.buslink import BusLink
    from cti.sim import SimLink, SimPbx
    from ivr.crm_lookup import CrmLookup
    from ivr.flow import load_flow
    from routing.acd_config import acd_config_from_db

    from ..components import explain_client, supervisor_client
    from ..democenter import AgentSeat, Components, DemoCenter, run_components

    with factory() as session:
        people = repository.list_agents(session, settings.site)
        agents = [a for a in people if a.role == "agent" and a.extension]
        supervisor = next((a for a in people if a.role == "supervisor"), None)
        callers = caller_numbers(session)
        vip = caller_numbers(session, vip_with_offer=True, limit=1)
        acd_config = acd_config_from_db(session, settings.site)
    if len(agents) < args.agents:
        print(f"ccenter: error: the database has {len(agents)} agents with an extension", file=sys.stderr)
        return 1
    desks = agents[: args.agents]
    seats = [AgentSeat(a.login, a.extension or "", dict(a.skills), simulated=a not in desks) for a in agents]
    # The PBX keeps the wall clock: its events, the ACD's statistics and the IVR's sessions are dated today.
    # The supervisor's phone is on the PBX too: they listen in from it.
    phones = [a.extension or "" for a in agents]
    if supervisor is not None and supervisor.extension and supervisor.extension not in phones:
        phones.append(supervisor.extension)
    pbx = SimPbx(extensions=phones, trunks=60, now=time.time())
    link = SimLink(pbx, realtime=True)
    bus = InProcessBus()  # bound to the loop of the network thread that runs the demo
    scripted = args.screenshots is not None
    feed = QueueStatsFeed()
    agent_feed = AgentStateFeed()
    center = DemoCenter(
        pbx,
        seats=seats,
        simulated_ready=not scripted,  # in the script, only you take calls; the others are in training
        caller_numbers=callers,
        calls_per_hour=0.0 if scripted else args.calls_per_hour,
    )
    lookup = CrmLookup(factory, region=settings.default_region)
    explainer = explain_client(bus, settings)  # as `ccenter supervisor`: the ACD answers over the bus
    supervisor_login = supervisor.login if supervisor is not None else "sam"
    with factory() as session:
        teams = crm_supervision.teams(session, settings.site)
    actions = supervisor_client(bus, settings, supervisor_login)  # its actions, audited by the ACD
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="supervisor-campaigns")

    def overview() -> list[crm_supervision.CampaignOverview]:
        with factory() as session:
            return crm_supervision.campaign_overview(session, site=settings.site)

    async def components(ready: Callable[[], None]) -> None:
        def started(_parts: Components) -> None:
            ready()

        await explainer.start()
        await actions.start()
        try:
            await run_components(
                bus=bus,
                link=link,
                center=center,
                settings=settings,
                sessions=factory,
                acd_config=acd_config,
                flows=[load_flow(resources.path("ivr", "telecom.yaml"))],
                lookup=lookup,
                queue_sink=feed.publish,
                agent_sink=agent_feed.publish,
                started=started,
            )
        finally:
            await explainer.close()
            await actions.close()
            await bus.close()

    def desktop_link(agent: AgentView) -> BusLink:
        # As `ccenter desktop`: the agent's own link to the gateway, over the bus.
        return BusLink(bus, site=settings.site, agent_id=agent.login)

    script = DemoScript(
        place_inbound=lambda number: center.inbound(number, script=("1", "1234#", "3")),
        hang_up_far_end=pbx.far_hangup,
        vip_number=vip[0] if vip else callers[0],
        place_waiting_calls=lambda: _call_all(center, callers[5:7], ("1", "1234#", "2", "1")),
        listeners=lambda call_id: {k: v.value for k, v in pbx.listeners(call_id).items()},
    )
    try:
        return run_workstation_demo(
            agents=desks,
            link_for=desktop_link,
            center=components,
            directory=CustomerDirectory(factory, settings.default_region, site=settings.site),
            outbox_dir=data_dir(),
            screenshots=args.screenshots,
            script=script,
            style=args.style,
            language=args.lang,
            queue_stats=feed,
            queues_for=lambda agent: {q.name for q in acd_config.queues if q.skill in agent.skills},
            agent_states=agent_feed,
            explain=explainer.ask,
            act=lambda action, target, action_args: actions.act(action, target, **action_args),
            teams=teams,
            campaigns=lambda: pool.submit(overview),
            supervisor_extension=(supervisor.extension or "") if supervisor is not None else "",
            telephony_capabilities=sorted(c.value for c in link.capabilities),
        )
    finally:
        pool.shutdown(wait=True)
        lookup.close()
        engine.dispose()
