"""``ccenter desktop`` and ``ccenter supervisor``: the production GUI processes, joined by the broker.

The desktop logs the agent in (agent id, password, extension), then speaks to the telephony
through ``ccenter cti-gateway`` over MQTT (:class:`cti.buslink.BusLink`), reads customers through
``ccenter api`` with the agent's own token when ``[api] url`` (or CCENTER_API) is configured — no
database credentials on the workstation — or else from the database, and shows the queue
statistics the ACD publishes. The supervisor window shows every
queue's statistics and every agent's state from the bus.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..cli import settings_from
from ..config import IN_PROCESS_BUS, Settings, data_dir, has_display

if TYPE_CHECKING:
    from concurrent.futures import Future

    from agent_desktop.supervisor_tiles import Thresholds
    from bus.messages import AgentDay, AgentState, Command, ExplainAnswer, QueueStats, SupervisorResult, WorkflowChanged
    from bus.transport import Bus, Subscription


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    desktop = subparsers.add_parser(
        "desktop",
        parents=[common],
        help="the agent desktop (production): log in, take calls through the CTI gateway over MQTT",
        description="Needs a broker (--mqtt) with `ccenter cti-gateway` and `ccenter acd` on it, and the database.",
    )
    desktop.add_argument("--agent", metavar="LOGIN", default="", help="agent id to fill in the login dialog")
    desktop.add_argument("--extension", metavar="EXT", default="", help="extension to fill in the login dialog")
    desktop.add_argument("--style", choices=("light", "dark"), default="light")
    desktop.add_argument("--lang", metavar="LANG", help="en or zh_CN (default: CCENTER_LANG, else the system's)")
    desktop.set_defaults(func=run_desktop)
    supervisor = subparsers.add_parser(
        "supervisor",
        parents=[common],
        help="the supervisor window (production): live queues and agents from the bus, and actions on them",
        description="Log in as a supervisor or administrator (the agents table's credentials). Needs a broker "
                    "(--mqtt) with `ccenter acd` on it, reached with the supervisor's own broker login "
                    "(mqtt://LOGIN:PASSWORD@host, the password `ccenter broker provision` gave that login: the "
                    "broker shows a supervisor their own team only), and the database. Tiles turn amber and red at the "
                    "[supervisor.thresholds] of the configuration file (docs/supervisor.md).",
    )
    supervisor.add_argument("--agent", metavar="LOGIN", default="", help="login to fill in the login dialog")
    supervisor.add_argument("--style", choices=("light", "dark"), default="light")
    supervisor.add_argument("--lang", metavar="LANG", help="en or zh_CN")
    supervisor.set_defaults(func=run_supervisor)


def _require_display(command: str) -> bool:
    if has_display():
        return True
    print(f"ccenter: error: no display to open `ccenter {command}` on (DISPLAY is not set)", file=sys.stderr)
    return False


def _require_broker(settings: Settings, command: str) -> bool:
    if settings.mqtt_url.startswith(IN_PROCESS_BUS):
        print(f"ccenter: error: `ccenter {command}` joins the other processes through a broker: give --mqtt URL "
              "(or CCENTER_MQTT); to run everything in one process, use `ccenter demo`", file=sys.stderr)
        return False
    return True


async def pump_bus(
    bus: Bus,
    site: str,
    *,
    queue_sink: Callable[[QueueStats], None] | None = None,
    agent_sink: Callable[[AgentState | Command | AgentDay], None] | None = None,
    capability_sink: Callable[[list[str]], None] | None = None,
    agents: Iterable[str] | None = None,
    workflow_sink: Callable[[WorkflowChanged], None] | None = None,
    workflows_of: Iterable[str] | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Forward retained queue statistics, agent states, the ACD's offers (which name a call's queue) and
    its figures of each agent's day from a started bus to the windows' feeds; what the CTI link can
    do (retained); and the workflow changes of the items the agents ``workflows_of`` took (an agent: itself;
    a supervisor: its team; None: every agent, an administrator), for the open workflow panels and the
    supervisor's escalations; ``ready`` is called once every subscription is in place. ``agents`` limits the
    agents to those (a supervisor's team: the broker lets them read
    those agents' topics only, so they are subscribed one by one); None is every agent (an administrator)."""
    import asyncio

    from bus import topics
    from bus.messages import AgentDay, AgentState, Command, CtiCapabilities, QueueStats, WorkflowChanged

    patterns = []
    if workflow_sink is not None and workflows_of is None:
        patterns.append(topics.all_agent_workflows(site))
    elif workflow_sink is not None and workflows_of is not None:
        patterns += [topics.agent_workflows(site, login) for login in sorted(set(workflows_of))]
    if queue_sink is not None:
        patterns.append(topics.all_queue_stats(site))
    if agent_sink is not None and agents is None:
        patterns += [topics.all_agent_events(site), topics.all_agent_days(site)]
    elif agent_sink is not None and agents is not None:
        for agent in sorted(set(agents)):
            patterns += [topics.agent_events(site, agent), topics.agent_day(site, agent)]
    if capability_sink is not None:
        patterns.append(topics.cti_capabilities(site))
    subscriptions = [await bus.subscribe(p) for p in patterns]
    if ready is not None:
        ready()

    async def forward(subscription: Subscription) -> None:
        async for envelope in subscription:
            message = envelope.message
            if isinstance(message, QueueStats) and queue_sink is not None:
                queue_sink(message)
            elif agent_sink is not None and (
                isinstance(message, AgentState | AgentDay) or (isinstance(message, Command) and message.name == "offer")
            ):
                agent_sink(message)
            elif isinstance(message, WorkflowChanged) and workflow_sink is not None:
                workflow_sink(message)
            elif isinstance(message, CtiCapabilities) and capability_sink is not None:
                capability_sink(message.capabilities if message.online else [])

    try:
        await asyncio.gather(*(forward(s) for s in subscriptions))
    finally:
        await bus.close()


async def _start_and_pump(
    bus: Bus,
    site: str,
    queue_sink: Callable[[QueueStats], None],
    agent_sink: Callable[[AgentState | Command | AgentDay], None] | None = None,
    agents: Iterable[str] | None = None,
    workflow_sink: Callable[[WorkflowChanged], None] | None = None,
    workflows_of: Iterable[str] | None = None,
) -> None:
    await bus.start()
    await pump_bus(bus, site, queue_sink=queue_sink, agent_sink=agent_sink, agents=agents,
                   workflow_sink=workflow_sink, workflows_of=workflows_of)


def run_desktop(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not _require_broker(settings, "desktop") or not _require_display("desktop"):
        return 1
    from .doctor import check_broker

    check_broker(settings)  # an unreachable broker is one clear error, before the login dialog
    import socket

    from agent_desktop.app import application, install_excepthook, quit_on_signals, route_qt_messages_to_logging
    from agent_desktop.customer_window import CustomerDirectory, CustomerWindow
    from agent_desktop.login import LoginDialog
    from agent_desktop.outbox import ContactOutbox
    from agent_desktop.queues import QueueStatsFeed
    from agent_desktop.supervisor_messages import show_supervisor_message
    from agent_desktop.telephony import LinkThread
    from agent_desktop.workers import post
    from agent_desktop.workstation import AgentWindow
    from bus.transport import open_bus
    from crm import db, repository
    from cti.buslink import BusLink

    route_qt_messages_to_logging()
    app = application(style=args.style, language=args.lang)
    install_excepthook()
    quit_on_signals(app)  # Ctrl+C in the terminal closes the windows
    from connectors.center import CenterDirectory

    engine = None
    directory: CustomerDirectory | CenterDirectory
    if settings.api_url:  # production: through `ccenter api`, with the agent's own token
        directory = CenterDirectory(settings.api_url, settings.default_region)
    else:
        engine = db.connect(settings.db_url)
        factory = db.session_factory(engine)
        from .api import order_system

        directory = CustomerDirectory(factory, settings.default_region, order_system(settings), site=settings.site)

    def release() -> None:
        if isinstance(directory, CenterDirectory):
            directory.close()
        elif directory.orders is not None:
            directory.orders.close()
        if engine is not None:
            engine.dispose()

    login = LoginDialog(directory.authenticate, login=args.agent, extension=args.extension)
    if not login.exec() or login.agent is None:
        release()
        return 1
    agent = login.agent
    if isinstance(directory, CenterDirectory):
        all_queues = directory.queues()
        outbox = ContactOutbox(None, data_dir() / f"outbox-{agent.login}.jsonl", write=directory.save_contact)
    else:
        with factory() as session:
            all_queues = repository.list_queues(session, settings.site)
        outbox = ContactOutbox(factory, data_dir() / f"outbox-{agent.login}.jsonl")
    queues = [q for q in all_queues if q.skill in agent.skills]
    feed = QueueStatsFeed()
    host = socket.gethostname()
    shown_on: list[AgentWindow] = []  # the window, once it exists

    def supervisor_said(sender: str, text: str) -> None:  # on the link's thread
        if shown_on:
            post(shown_on[0], show_supervisor_message, shown_on[0], sender, text)

    link = BusLink.from_url(settings.mqtt_url, site=settings.site, agent_id=agent.login,
                            client_id=f"desktop-{agent.login}-{host}", on_supervisor_message=supervisor_said)
    stats_bus = open_bus(settings.mqtt_url, client_id=f"desktop-{agent.login}-{host}-stats", site=settings.site,
                         role="desktop")
    from agent_desktop.supervisor import AgentStateFeed, SupervisorWindow

    supervises = agent.role in ("supervisor", "admin")
    agent_feed = AgentStateFeed() if supervises else None
    team_agents: list[str] | None = None  # an administrator reads every agent
    if agent.role == "supervisor":  # a supervisor's team only (the broker lets them read no other agent)
        team_agents = [agent.login]
        if engine is not None:
            from crm import supervision

            with factory() as session:
                me = supervision.person(session, agent.login)
                if me is not None and me.team:
                    team_agents = supervision.team_members(session, me.team)
    from agent_desktop.workflow_panel import show_escalations, workflow_feed

    workflows = workflow_feed()  # made here, on the GUI thread
    thread = LinkThread(link, on_loop=lambda _loop: _start_and_pump(
        stats_bus, settings.site, feed.publish, agent_feed.publish if agent_feed else None, team_agents,
        # An agent hears of its own items; a supervisor of its team's; an administrator of everyone's.
        workflow_sink=workflows.publish, workflows_of=team_agents if supervises else [agent.login]))
    thread.start()
    window = AgentWindow(agent=agent, link=thread, directory=directory,
                         outbox=outbox,
                         queue_stats=feed, visible_queues={q.name for q in queues} or None,
                         dispositions=settings.dispositions, not_ready_reasons=settings.not_ready_reasons,
                         wrap_up_seconds=settings.wrap_up_seconds)
    shown_on.append(window)
    customers = CustomerWindow(directory, agent_login=agent.login)
    window.customers_requested.connect(customers.show)
    customers.customer_chosen.connect(window.relink)
    if agent_feed is not None:
        supervisor = SupervisorWindow(queue_stats=feed, agent_states=agent_feed)
        show_escalations(supervisor, workflows, to="supervisor")
        window.supervisor_requested.connect(supervisor.show)
        window.supervisor_requested.connect(supervisor.raise_)
    window.show()
    window.log_on()
    try:
        return app.exec()
    finally:
        window.close()
        customers.close()
        thread.stop()
        release()


def supervisor_thresholds(settings: Settings) -> Thresholds:
    """The tiles' thresholds: ``[supervisor.thresholds]`` of the configuration file, else the defaults."""
    from agent_desktop.supervisor_tiles import ThresholdError, Thresholds

    from ..config import ConfigError

    if settings.config_file is None:
        return Thresholds()
    import tomllib

    with open(settings.config_file, "rb") as fh:
        table = tomllib.load(fh).get("supervisor", {})
    if not isinstance(table, dict) or set(table) - {"thresholds"}:
        raise ConfigError(f"{settings.config_file}: [supervisor] holds only a thresholds table")
    try:
        return Thresholds.from_config(table.get("thresholds", {}))
    except ThresholdError as exc:
        raise ConfigError(f"{settings.config_file}: {exc}") from None


def run_supervisor(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not _require_broker(settings, "supervisor") or not _require_display("supervisor"):
        return 1
    thresholds = supervisor_thresholds(settings)  # a bad threshold is one clear error, before any window
    import asyncio
    import contextlib
    import socket
    import threading

    from agent_desktop.app import application, install_excepthook, quit_on_signals, route_qt_messages_to_logging
    from agent_desktop.customer_window import CustomerDirectory
    from agent_desktop.login import LoginDialog
    from agent_desktop.queues import QueueStatsFeed
    from agent_desktop.supervisor import AgentStateFeed, SupervisorWindow
    from agent_desktop.telephony import network_loop
    from agent_desktop.workers import post
    from bus.transport import open_bus
    from crm import db, supervision

    from ..components import explain_client, supervisor_client

    engine = db.connect(settings.db_url)
    factory = db.session_factory(engine)
    route_qt_messages_to_logging()
    app = application(style=args.style, language=args.lang)
    install_excepthook()
    quit_on_signals(app)  # Ctrl+C in the terminal closes the windows
    directory = CustomerDirectory(factory, settings.default_region, site=settings.site)
    from urllib.parse import unquote, urlsplit

    broker_user = unquote(urlsplit(settings.mqtt_url).username or "")
    login = LoginDialog(directory.authenticate, login=args.agent or broker_user)  # the broker's login is theirs
    if not login.exec() or login.agent is None:
        engine.dispose()
        return 1
    person = login.agent
    if person.role not in ("supervisor", "admin"):
        print(f"ccenter: error: {person.login} is an agent: the supervisor window is for supervisors and "
              "administrators", file=sys.stderr)
        engine.dispose()
        return 1
    if broker_user != person.login:
        print(f"ccenter: error: the broker URL logs in as {broker_user or 'nobody'!r}, not as {person.login}: the "
              "broker lets a supervisor act and read their team only as themselves; give --mqtt (or [mqtt] url "
              f"in the configuration file) as mqtt://{person.login}:BROKER-PASSWORD@host (`ccenter broker "
              "provision` made that password)", file=sys.stderr)
        engine.dispose()
        return 1
    with factory() as session:
        teams = supervision.teams(session, settings.site)
        me = supervision.person(session, person.login, settings.site)
    if person.role == "supervisor":  # a supervisor sees their own team; the ACD refuses them the others
        teams = {agent: team for agent, team in teams.items() if me is not None and team == me.team}

    bus = open_bus(settings.mqtt_url, client_id=f"supervisor-{person.login}-{socket.gethostname()}",
                   site=settings.site, role="supervisor")
    loop = network_loop()  # a selector loop: aiomqtt needs add_reader, which Windows' default loop lacks
    loop.run_until_complete(bus.start())  # an unreachable broker is one clear error, before any window
    explainer = explain_client(bus, settings, login=person.login)  # on their own topics, their team only
    actions = supervisor_client(bus, settings, person.login)
    loop.run_until_complete(explainer.start())
    loop.run_until_complete(actions.start())
    queues, agents = QueueStatsFeed(), AgentStateFeed()
    worker = threading.Thread(
        target=lambda: loop.run_until_complete(
            pump_bus(bus, settings.site, queue_sink=queues.publish, agent_sink=agents.publish,
                     capability_sink=lambda names: post(window, window.set_capabilities, names),
                     agents=list(teams) if person.role == "supervisor" else None)
        ),
        name="supervisor-bus",
        daemon=True,
    )

    def explain(kind: str, name: str) -> Future[ExplainAnswer]:
        return asyncio.run_coroutine_threadsafe(explainer.ask(kind, name), loop)

    def act(action: str, target: str, action_args: dict[str, Any]) -> Future[SupervisorResult]:
        return asyncio.run_coroutine_threadsafe(actions.act(action, target, **action_args), loop)

    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="supervisor-campaigns")

    def campaigns() -> Future[list[supervision.CampaignOverview]]:
        def read() -> list[supervision.CampaignOverview]:
            with factory() as session:
                return supervision.campaign_overview(session, site=settings.site)

        return pool.submit(read)

    window = SupervisorWindow(queue_stats=queues, agent_states=agents, explain=explain, act=act, teams=teams,
                              thresholds=thresholds, campaigns=campaigns)
    window.extension = person.extension or ""
    if person.role == "supervisor" and me is not None and me.team:
        window.team_filter.setCurrentIndex(max(0, window.team_filter.findData(me.team)))  # and Message team… on
    worker.start()  # after the window exists: the feeds hand it what the bus brings
    window.show()

    async def leave() -> None:  # the pump ends when the bus closes
        await actions.close()
        await explainer.close()
        await bus.close()

    try:
        return app.exec()
    finally:
        window.close()
        with contextlib.suppress(Exception):  # leaving: a broker already gone is no error
            asyncio.run_coroutine_threadsafe(leave(), loop).result(timeout=5)
        worker.join(timeout=5)
        pool.shutdown(wait=True)
        engine.dispose()
