"""The supervisor window over the bus's message types: tiles, the agents table, the ACD's explanations."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from PySide6.QtCore import Qt

from agent_desktop.queues import QueueStatsFeed
from agent_desktop.supervisor import AgentStateFeed, SupervisorWindow
from agent_desktop.supervisor_agents import AgentTableModel
from agent_desktop.supervisor_tiles import Level, Limit, ThresholdError, Thresholds
from bus.messages import AgentState, Command, ExplainAnswer, QueueStats, SupervisorResult


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_queues_agents_summary_and_explanations(qtbot) -> None:
    asked: list[tuple[str, str]] = []

    def explain(kind: str, name: str) -> Future[ExplainAnswer]:
        asked.append((kind, name))
        future: Future[ExplainAnswer] = Future()
        text = f"{kind} {name}: <b>because</b>"
        future.set_result(ExplainAnswer(request_id="r", kind=kind, name=name, ts=1, text=text))
        return future

    queues, agents = QueueStatsFeed(), AgentStateFeed()
    window = SupervisorWindow(queue_stats=queues, agent_states=agents, explain=explain)
    qtbot.addWidget(window)
    queues.publish(QueueStats(queue="billing", ts=1, waiting=2, longest_wait_s=30, offered=10, answered=7,
                              abandoned=1, service_level=0.8))
    queues.publish(QueueStats(queue="vip", ts=1, offered=10, answered=10, service_level=1.0))
    agents.publish(AgentState(agent_id="alice", state="ready", ts=1, extension="1001"))
    agents.publish(AgentState(agent_id="bob", state="not_ready", ts=1, reason="lunch", extension="1002"))
    agents.publish(Command(command_id="c", name="offer", ts=2, call_id="sim-4", agent_id="bob",
                           args={"queue": "billing"}))
    agents.publish(AgentState(agent_id="bob", state="busy", ts=2, extension="1002", call_id="sim-4"))
    qtbot.waitUntil(lambda: window.agents.rowCount() == 2 and window.agents.row(1).state == "busy", timeout=5000)
    qtbot.waitUntil(lambda: "On a call 1" in window.summary.text(), timeout=5000)
    assert window.summary.text() == "2 waiting  ·  abandoned 1 of 20  ·  service level 90%  ·  On a call 1  ·  Ready 1"
    m = window.agents
    row = [m.data(m.index(1, c)) for c in (m.AGENT, m.STATE, m.REASON, m.CALL, m.QUEUE, m.HANDLED)]
    assert row == ["bob", "On a call", "", "sim-4", "billing", "1"]
    qtbot.waitUntil(lambda: set(window.tiles.tiles) == {"billing", "vip"}, timeout=5000)
    with qtbot.waitSignal(window.explained, timeout=5000) as shown:
        qtbot.mouseClick(window.tiles.tiles["billing"], Qt.MouseButton.LeftButton)
    assert shown.args == ["queue billing: <b>because</b>"]
    assert window.explanation.toPlainText() == "queue billing: <b>because</b>"  # plain text, never markup
    with qtbot.waitSignal(window.explained, timeout=5000):
        window.agent_view.selectRow(1)
    assert asked == [("queue", "billing"), ("agent", "bob")]


def test_explanations_are_read_from_the_acds_reasons_and_timeouts_say_so(qtbot) -> None:
    answers: list[ExplainAnswer | BaseException] = []

    def explain(kind: str, name: str) -> Future[ExplainAnswer]:
        future: Future[ExplainAnswer] = Future()
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
        return future

    window = SupervisorWindow(queue_stats=QueueStatsFeed(), agent_states=AgentStateFeed(), explain=explain)
    qtbot.addWidget(window)
    reasons = [{"subject": "agent carol", "data": {"agent_id": "carol", "status": "not_ready", "reason": "Lunch",
                                                   "in_state_s": 125.2}}]
    answers.append(ExplainAnswer(request_id="r", kind="agent", name="carol", ts=1, text="English", reasons=reasons))
    with qtbot.waitSignal(window.explained, timeout=5000) as shown:
        window._explain("agent", "carol")
    assert shown.args == ["Agent carol is not ready (Lunch) for 125 s."]
    answers.append(TimeoutError())
    with qtbot.waitSignal(window.explained, timeout=5000) as shown:
        window._explain("queue", "sales")
    assert "No ACD answered" in shown.args[0]


def test_agents_table_coalesces_updates_and_counts_time_calls_and_occupancy(qtbot) -> None:
    clock = Clock()
    model = AgentTableModel(clock, teams={"a1": "north", "a2": "south"}, flush_ms=10_000)
    changes: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, *_: changes.append((top.row(), bottom.row())))
    model.stage(AgentState(agent_id="a1", state="ready", ts=1))
    model.stage(AgentState(agent_id="a2", state="not_ready", ts=1, reason="Break"))
    assert model.rowCount() == 0  # nothing shows before the flush
    model.flush()
    assert model.rowCount() == 2 and model.flushes == 1
    for n in range(50):  # a burst: one repaint of the rows it touched
        clock.now += 1
        model.stage(AgentState(agent_id="a1", state="busy" if n % 2 else "wrap_up", ts=clock.now,
                               call_id=f"c{n // 2}"))
    model.flush()
    assert changes == [(0, 0)] and model.flushes == 2
    assert model.row(0).handled == 25  # each call counted once, when it is answered
    clock.now += 50
    model.update(AgentState(agent_id="a1", state="ready", ts=clock.now))
    clock.now += 100  # 50 s working, 150 s available, then 100 s more ready
    assert model.data(model.index(0, model.OCCUPANCY)) == "25%"
    assert model.data(model.index(0, model.IN_STATE)) == "1:40"
    assert model.data(model.index(1, model.TEAM)) == "south"
    # A report that repeats not-ready without its reason keeps the reason.
    model.update(AgentState(agent_id="a2", state="not_ready", ts=clock.now))
    assert model.data(model.index(1, model.REASON)) == "Break"
    right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    assert model.data(model.index(0, model.HANDLED), Qt.ItemDataRole.TextAlignmentRole) == right
    assert model.data(model.index(0, model.AGENT), Qt.ItemDataRole.TextAlignmentRole) != right


def test_agents_filter_by_team_and_state_and_sort_numbers_as_numbers(qtbot) -> None:
    clock = Clock()
    queues, feed = QueueStatsFeed(), AgentStateFeed()
    teams = {f"a{n}": ("north" if n % 2 else "south") for n in range(12)}
    window = SupervisorWindow(queue_stats=queues, agent_states=feed, teams=teams, clock=clock)
    qtbot.addWidget(window)
    for n in range(12):
        for extra in range(n):  # a{n} handled n calls before
            feed.publish(AgentState(agent_id=f"a{n}", state="busy", ts=1, call_id=f"x{n}-{extra}"))
        state = ("ready", "not_ready", "wrap_up")[n % 3]
        feed.publish(AgentState(agent_id=f"a{n}", state=state, ts=1))
    window.agents.flush()
    assert window.agents_shown.rowCount() == 12
    assert [window.team_filter.itemText(i) for i in range(window.team_filter.count())] == ["All teams", "north",
                                                                                        "south"]
    window.team_filter.setCurrentIndex(window.team_filter.findData("north"))
    assert window.agents_shown.rowCount() == 6
    window.state_filter.setCurrentIndex(window.state_filter.findData("not_ready"))
    shown = {window.agents_shown.index(r, 0).data() for r in range(window.agents_shown.rowCount())}
    assert shown == {"a1", "a7"}  # north (odd) and not ready (n % 3 == 1)
    window.team_filter.setCurrentIndex(0)
    window.state_filter.setCurrentIndex(0)
    window.agent_view.sortByColumn(window.agents.HANDLED, Qt.SortOrder.DescendingOrder)
    column = [window.agents_shown.index(r, window.agents.HANDLED).data() for r in range(12)]
    assert column[:3] == ["11", "10", "9"]  # numbers, not text ("9" would sort above "12")
    # A state change moves an agent out of a filtered view at the next refresh.
    window.state_filter.setCurrentIndex(window.state_filter.findData("ready"))
    before = window.agents_shown.rowCount()
    feed.publish(AgentState(agent_id="a0", state="not_ready", ts=2, reason="Lunch"))
    window._refresh()
    assert window.agents_shown.rowCount() == before - 1


def test_tiles_turn_amber_and_red_at_the_configured_thresholds(qtbot) -> None:
    queues = QueueStatsFeed()
    thresholds = Thresholds.from_config({"waiting": {"amber": 3, "red": 6}, "service_level_margin": 0.2})
    window = SupervisorWindow(queue_stats=queues, agent_states=AgentStateFeed(), thresholds=thresholds)
    qtbot.addWidget(window)

    def stats(**kw: object) -> QueueStats:
        base = dict(queue="sales", ts=1, offered=20, answered=20, abandoned=0, sl_target=0.8, sl_seconds=20,
                    service_level=0.85, service_level_15m=0.9, agents_ready=2)
        base.update(kw)
        return QueueStats(**base)  # type: ignore[arg-type]

    queues.publish(stats(waiting=1))
    qtbot.waitUntil(lambda: "sales" in window.tiles.tiles, timeout=5000)
    tile = window.tiles.tiles["sales"]
    assert tile.level is Level.NORMAL and tile.property("level") == "normal"
    assert tile.values["sl_today"].text() == "85%" and tile.values["ready"].text() == "2"
    assert tile.values["waiting"].alignment() & Qt.AlignmentFlag.AlignRight
    queues.publish(stats(waiting=4))
    qtbot.waitUntil(lambda: tile.level is Level.AMBER, timeout=5000)
    assert tile.values["waiting"].property("level") == "amber"
    queues.publish(stats(waiting=4, service_level_15m=0.55))  # the target 80% less the margin of 20 points
    qtbot.waitUntil(lambda: tile.level is Level.RED, timeout=5000)
    assert tile.levels["sl_15m"] is Level.RED and tile.levels["waiting"] is Level.AMBER
    window.tiles.set_thresholds(Thresholds(waiting=Limit(10, 20), service_level=Limit(0.5, 0.4, lower_is_worse=True)))
    assert tile.level is Level.NORMAL


@pytest.mark.parametrize(("table", "error"), [
    ({"waiting": {"amber": 5}}, "supervisor.thresholds.waiting must be a table with amber and red"),
    ({"waiting": {"amber": 5, "red": 2}}, "red must be above amber"),
    ({"service_level": {"amber": 0.7, "red": 0.8}}, "red must be below amber"),
    ({"colour": {}}, "unknown threshold 'colour'"),
    ({"asa_s": {"amber": "x", "red": 3}}, "amber and red must be numbers"),
])
def test_bad_thresholds_are_refused_with_their_key(table: dict[str, object], error: str) -> None:
    with pytest.raises(ThresholdError, match=error):
        Thresholds.from_config(table)


def test_states_reasons_tiles_and_explanations_read_in_chinese(qtbot, qapp) -> None:
    from agent_desktop import i18n
    from agent_desktop.labels import explanation_text, reason_label, state_label

    assert i18n.install_translator(qapp, "zh_CN") == "zh_CN"
    try:
        assert (state_label("not_ready"), reason_label("Lunch"), reason_label("Site's own")) == ("未就绪", "午餐",
                                                                                                  "Site's own")
        waiting = {"call_id": "sim-3", "queue": "technical", "status": "queued", "waited_s": 12.4,
                   "requirements": [{"technical": 1}], "eligible_agents": {"not_ready": 3}, "calls_ahead": 0,
                   "effective_priority": 3.0, "next_steps": [{"step": "overflow", "in_s": 48}]}
        text = explanation_text("queue", [{"subject": "call sim-3", "data": waiting}], "English")
        assert text == ("来电 sim-3 已在 technical 等待 12 秒：需要 technical ≥ 1；3 名符合条件的坐席状态为：3 未就绪；"
                        "前面还有 0 通符合条件的来电（有效优先级 3.0）。 下一步：48 秒后溢出。")
        assert explanation_text("queue", [{"subject": "x", "data": {"unknown": 1}}], "English") == "English"
        queues = QueueStatsFeed()
        window = SupervisorWindow(queue_stats=queues, agent_states=AgentStateFeed())
        qtbot.addWidget(window)
        queues.publish(QueueStats(queue="sales", ts=1, sl_target=0.8, sl_seconds=20))
        window.flush()
        assert window.tiles.tiles["sales"].target.text() == "目标：20 秒内 80%"
    finally:
        i18n.remove_translators(qapp)


def test_an_action_from_the_agents_menu_reaches_the_acd_and_is_audited(qtbot, engine) -> None:
    """The window's menu, a real SupervisorClient and AcdServer on the bus, the audit in the database."""
    import asyncio

    from agent_desktop.telephony import NetworkThread
    from bus import topics
    from bus.transport import InProcessBus
    from crm import db, supervision
    from crm.models import Agent, Role
    from cti.gateway import Gateway
    from cti.sim import SimLink, SimPbx
    from routing.acd_config import AcdConfig, AgentProfile
    from routing.model import QueueConfig
    from routing.server import AcdServer
    from routing.supervision import SupervisorClient, SupervisorDesk

    db.upgrade(engine)
    factory = db.session_factory(engine)
    with factory() as s:
        s.add_all([Agent(login="sam", name="Sam", role=Role.SUPERVISOR, team="north"),
                   Agent(login="alice", name="Alice", team="north"), Agent(login="frank", name="Frank", team="south")])
        s.commit()
    network = NetworkThread("supervisor-test")
    network.start()
    bus = InProcessBus()
    config = AcdConfig((QueueConfig("sales"),),
                       {"alice": AgentProfile({"sales": 5}), "frank": AgentProfile({"sales": 5})})
    server = AcdServer(bus, config, "t", election=False, supervision=SupervisorDesk(factory))
    client = SupervisorClient(bus, "t", "sam")
    commands: list[Command] = []
    link = SimLink(SimPbx(extensions=["1001", "1100"]))  # the CTI gateway carries the actions out and answers
    gateway = Gateway(link, bus, site="t", client_id="gw")
    runner: list[asyncio.Task[None]] = []

    async def start() -> None:
        await gateway.start()
        await link.connect()
        runner.append(asyncio.get_running_loop().create_task(gateway.run()))
        await server.start()
        await client.start()
        cti = await bus.subscribe(topics.cti_commands("t"))

        async def read() -> None:
            async for envelope in cti:
                if isinstance(envelope.message, Command):
                    commands.append(envelope.message)

        asyncio.get_running_loop().create_task(read())

    network.call_soon(start()).result(10)
    feed = AgentStateFeed()
    window = SupervisorWindow(queue_stats=QueueStatsFeed(), agent_states=feed, teams={"alice": "north"},
                              act=lambda a, t, args: network.call_soon(client.act(a, t, **args)))
    qtbot.addWidget(window)
    try:
        feed.publish(AgentState(agent_id="alice", state="ready", ts=1))
        window.agents.flush()
        menu = window.agent_menu("alice")
        items = {a.objectName(): a for a in menu.actions() if a.objectName()}
        assert not items["listen_monitor"].isEnabled()  # the telephony has not said it can
        with qtbot.waitSignal(window.acted, timeout=10_000) as acted:
            items["force_not_ready"].trigger()
        assert acted.args[0].result == "ok"
        assert "Done: set not ready alice" in window.statusBar().currentMessage()
        qtbot.waitUntil(lambda: any(c.name == "set_agent_state" and c.args["agent_id"] == "alice" for c in commands),
                        timeout=5000)
        with qtbot.waitSignal(window.acted, timeout=10_000) as acted:
            window.agent_menu("frank").actions()[1].trigger()  # log out someone of another team
        assert acted.args[0].result == "refused"
        assert window.statusBar().currentMessage().startswith("Refused: log out frank")
        with factory() as s:
            assert [(e.action, e.target, e.result) for e in reversed(supervision.audit_entries(s))] == [
                ("force_not_ready", "alice", "ok"), ("log_out", "frank", "refused")]
        window.set_capabilities({"listen"})
        window.extension = "1100"
        assert {a.objectName(): a.isEnabled() for a in window.agent_menu("alice").actions()}["listen_barge"]
    finally:
        async def stop() -> None:
            await client.close()
            await server.stop()
            for task in runner:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await link.close()
            await bus.close()

        network.call_soon(stop()).result(10)
        network.stop()


def test_a_supervisors_message_reaches_the_agents_link_and_shows_as_plain_text(qtbot) -> None:
    import asyncio

    from PySide6.QtWidgets import QMainWindow

    from agent_desktop.supervisor_messages import show_supervisor_message
    from bus import topics
    from bus.transport import InProcessBus
    from cti.buslink import BusLink
    from tests.helpers import until

    said: list[tuple[str, str]] = []

    async def scenario() -> None:
        bus = InProcessBus()
        link = BusLink(bus, site="t", agent_id="alice", capabilities_timeout=0.01,
                       on_supervisor_message=lambda sender, text: said.append((sender, text)))
        await link.connect()
        try:
            message = Command(command_id="sup:1:alice", name="supervisor_message", ts=0.0, agent_id="alice",
                              args={"text": "Storm <b>south</b>\r\nexpect calls", "from": "sam", "epoch": 1})
            await bus.publish(topics.agent_events("t", "alice"), message, qos=1)
            await until(lambda: bool(said))
        finally:
            await link.close()
            await bus.close()

    asyncio.run(scenario())
    assert said == [("sam", "Storm <b>south</b>\r\nexpect calls")]
    window = QMainWindow()
    qtbot.addWidget(window)
    shown = show_supervisor_message(window, *said[0])
    assert shown == "Message from sam: Storm <b>south</b> expect calls"  # one line, the markup as text
    assert window.statusBar().currentMessage() == shown


def test_queue_and_agent_menus_ask_for_the_right_actions(qtbot) -> None:
    from agent_desktop.supervisor import parse_skills

    asked: list[tuple[str, str, dict[str, object]]] = []

    def act(action: str, target: str, args: dict[str, object]) -> Future[SupervisorResult]:
        asked.append((action, target, args))
        future: Future[SupervisorResult] = Future()
        future.set_result(SupervisorResult(action_id="x", action=action, target=target, result="ok", ts=0.0))
        return future

    queues = QueueStatsFeed()
    window = SupervisorWindow(queue_stats=queues, agent_states=AgentStateFeed(), act=act)
    qtbot.addWidget(window)
    for name in ("vip", "sales"):
        queues.publish(QueueStats(queue=name, ts=1))
    window.flush()
    items = {a.objectName(): a for a in window.queue_menu("vip").actions() if a.objectName()}
    assert items["overflow"].isEnabled()
    with qtbot.waitSignal(window.acted, timeout=5000):
        items["select_most_skilled"].trigger()
    assert asked == [("set_queue", "vip", {"changes": {"agent_selection": "most_skilled"}})]
    assert parse_skills("sales=5, billing = 3") == {"sales": 5, "billing": 3}
    assert parse_skills("sales=11") is None and parse_skills("sales") is None and parse_skills("") is None


def test_tiles_in_trouble_come_first(qtbot) -> None:
    queues = QueueStatsFeed()
    window = SupervisorWindow(queue_stats=queues, agent_states=AgentStateFeed())
    qtbot.addWidget(window)
    for name in ("billing", "sales", "vip"):
        queues.publish(QueueStats(queue=name, ts=1))
    window.flush()
    assert window.tiles.order() == ["billing", "sales", "vip"]
    queues.publish(QueueStats(queue="vip", ts=2, waiting=12))  # red
    queues.publish(QueueStats(queue="sales", ts=2, waiting=6))  # amber
    window.flush()
    assert window.tiles.order() == ["vip", "sales", "billing"]
    grid = window.tiles._grid
    assert grid.itemAtPosition(0, 0).widget() is window.tiles.tiles["vip"]
    queues.publish(QueueStats(queue="vip", ts=3))
    window.flush()
    assert window.tiles.order() == ["sales", "billing", "vip"]
