"""The supervisor window over the bus's message types: queues, agents, the ACD's explanations."""

from __future__ import annotations

from concurrent.futures import Future

from agent_desktop.queues import QueueStatsFeed
from agent_desktop.supervisor import AgentStateFeed, SupervisorWindow
from bus.messages import AgentState, ExplainAnswer, QueueStats


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
    agents.publish(AgentState(agent_id="bob", state="busy", ts=2, extension="1002", call_id="sim-4"))
    qtbot.waitUntil(lambda: window.agents.rowCount() == 2, timeout=5000)
    assert window.summary.text() == "2 waiting  ·  abandoned 1 of 20  ·  service level 90%  ·  busy 1  ·  ready 1"
    assert [window.agents.data(window.agents.index(1, c)) for c in (0, 2, 3, 5)] == ["bob", "busy", "", "sim-4"]
    with qtbot.waitSignal(window.explained, timeout=5000) as shown:
        window.queue_view.selectRow(0)
    assert shown.args == ["queue billing: <b>because</b>"]
    assert window.explanation.toPlainText() == "queue billing: <b>because</b>"  # plain text, never markup
    with qtbot.waitSignal(window.explained, timeout=5000):
        window.agent_view.selectRow(1)
    assert asked == [("queue", "billing"), ("agent", "bob")]
