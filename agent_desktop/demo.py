"""The desktop part of ``ccenter demo``: agent workstations (and the customer window) on a live link.

``run_workstation_demo`` starts a network thread with the contact center on its loop (the production
components on the in-process bus), waits until they run, then opens a workstation per agent, each on
its own link to them (a :class:`cti.buslink.BusLink` to the gateway, as a production desktop has),
logs them on and makes them ready. Calls then arrive as the contact center sends them.

With ``screenshots`` it plays a script instead: an inbound call from a VIP customer through the IVR
and the ACD to the first agent (screen pop, answer, order and service request, the caller hangs up,
wrap-up with disposition and offer result, saved; the supervisor listens in silently meanwhile, when
the telephony can), then a preview outbound call of the campaign
(next customer due, script, call, wrap-up), then calls that no ready agent can take and the
supervisor's view of them with the ACD's explanation, saving a PNG of the windows at each step, then
exits. The agent's actions go through the desktop's link to the gateway; only the callers' (calling,
hanging up) are played at the PBX.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QPoint, QRect, QSignalBlocker, QSize, Qt
from PySide6.QtWidgets import QApplication, QWidget

from bus.messages import AgentStateName, ExplainAnswer, SupervisorResult
from crm.repository import AgentView, RequestLine
from crm.supervision import CampaignOverview
from cti.link import CtiLink

from .app import application, expect, install_excepthook, quit_on_signals, route_qt_messages_to_logging
from .customer_window import CustomerDirectory, CustomerWindow
from .outbox import ContactOutbox
from .queues import QueueStatsFeed
from .supervisor import AgentStateFeed, SupervisorWindow
from .supervisor_messages import show_supervisor_message
from .telephony import LinkThread, NetworkThread
from .workers import mailbox, post
from .workstation import AgentWindow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoScript:
    """What the screenshot script needs from the world behind the contact center (the callers, at the PBX).

    The agent's own actions go through the desktop's link like any agent's; these are the far end's.
    """

    place_inbound: Callable[[str], None]  # on the center's loop: this number calls the service number
    hang_up_far_end: Callable[[str], None]  # on the center's loop: the caller of this call hangs up
    vip_number: str
    place_waiting_calls: Callable[[], None] = lambda: None  # on the center's loop: calls no ready agent can take
    # On the center's loop: who listens in on this call (the supervisors' extensions and how), as the PBX says.
    listeners: Callable[[str], Mapping[str, str]] | None = None


def place_beside(anchor: QRect, size: QSize, screen: QRect, gap: int = 16) -> QPoint:
    """Where a window of ``size`` goes beside the ``anchor`` window's frame on ``screen`` (available area).

    To the right of the anchor when it fits there, else below it; when it fits on neither side (a
    1920×1080 screen beside a 1360-pixel workstation), wholly on the screen on the side that covers the
    least of the anchor, since a window off the screen's edge cannot be seen or reached.
    """
    right = QPoint(anchor.right() + 1 + gap, anchor.top())
    below = QPoint(anchor.left(), anchor.bottom() + 1 + gap)

    def on_screen(at: QPoint) -> bool:
        return screen.contains(QRect(at, size))

    for at in (right, below):
        if on_screen(at):
            return at

    def clamp(at: QPoint) -> QPoint:
        x = max(screen.left(), min(at.x(), screen.right() + 1 - size.width()))
        y = max(screen.top(), min(at.y(), screen.bottom() + 1 - size.height()))
        return QPoint(x, y)

    def covered(at: QPoint) -> int:
        overlap = QRect(at, size).intersected(anchor)
        return overlap.width() * overlap.height() if overlap.isValid() else 0

    return min((clamp(right), clamp(below)), key=covered)


def open_beside(window: QWidget, anchor: QWidget, gap: int = 16) -> None:
    """Put ``window`` beside ``anchor`` on the anchor's screen (:func:`place_beside`) and keep ``anchor``
    in front: the agent's workstation is what the agent works in."""
    size = window.frameGeometry().size()  # with the window manager's frame, once shown (move() places it)
    window.move(place_beside(anchor.frameGeometry(), size, anchor.screen().availableGeometry(), gap))
    anchor.raise_()
    anchor.activateWindow()


def _save(widget: QWidget, path: Path, saved: list[Path]) -> None:
    QApplication.processEvents()
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    saved.append(path)


async def _call(fn: Callable[[], None]) -> None:
    fn()


async def _ask(fn: Callable[[], Any]) -> Any:
    return fn()


def _wait_until(predicate: Callable[[], bool], what: str, timeout_ms: int = 20_000) -> None:
    from PySide6.QtCore import QDeadlineTimer

    deadline = QDeadlineTimer(timeout_ms)
    while not predicate():
        if deadline.hasExpired():
            raise RuntimeError(f"demo: {what} did not happen within {timeout_ms / 1000:.0f} s")
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def _start_center(network: NetworkThread, center: Callable[[Callable[[], None]], Coroutine[Any, Any, None]],
                  timeout_s: float = 60.0) -> None:
    """Run ``center`` on the network thread's loop and return once it says its components run."""
    up: Future[None] = Future()

    def ready() -> None:  # on the loop's thread, as ``ended``
        if not up.done():
            up.set_result(None)

    def ended(done: Future[None]) -> None:
        if up.done():
            return
        error = None if done.cancelled() else done.exception()
        up.set_exception(error or RuntimeError("demo: the contact center stopped before it ran"))

    network.call_soon(center(ready)).add_done_callback(ended)
    up.result(timeout_s)


def run_workstation_demo(
    *,
    agents: Sequence[AgentView],
    link_for: Callable[[AgentView], CtiLink],
    center: Callable[[Callable[[], None]], Coroutine[Any, Any, None]],
    directory: CustomerDirectory,
    outbox_dir: Path,
    screenshots: Path | None = None,
    script: DemoScript | None = None,
    style: str = "light",
    language: str | None = None,
    queue_stats: QueueStatsFeed | None = None,
    queues_for: Callable[[AgentView], set[str] | None] = lambda _agent: None,
    agent_states: AgentStateFeed | None = None,
    explain: Callable[[str, str], Coroutine[Any, Any, ExplainAnswer]] | None = None,
    act: Callable[[str, str, dict[str, Any]], Coroutine[Any, Any, SupervisorResult]] | None = None,
    teams: Mapping[str, str] | None = None,
    campaigns: Callable[[], Future[list[CampaignOverview]]] | None = None,
    supervisor_extension: str = "",
    telephony_capabilities: Sequence[str] = (),
) -> int:
    """Open the demo's windows on the contact center ``center`` runs, and run them.

    ``center(ready)`` runs the contact center on the network thread's loop until cancelled, and calls
    ``ready()`` once clients may connect; ``link_for(agent)`` is then the link of that agent's desktop,
    run on the same loop. ``explain`` runs on that loop too.
    """
    route_qt_messages_to_logging()
    app = application(style=style, language=language)
    install_excepthook(interactive=screenshots is None)
    mailbox()  # made on the GUI thread, before the contact center's thread publishes to the windows' feeds
    network = NetworkThread("demo-center")
    network.start()
    threads: list[LinkThread] = []
    windows: list[AgentWindow] = []
    customers: CustomerWindow | None = None
    supervisor: SupervisorWindow | None = None
    try:
        _start_center(network, center)  # the gateway is up before any desktop's link connects
        for offset, agent in enumerate(agents):
            thread = LinkThread(link_for(agent), network=network)
            thread.start()
            threads.append(thread)
            outbox = ContactOutbox(directory.sessions, outbox_dir / f"outbox-{agent.login}.jsonl")
            window = AgentWindow(agent=agent, link=thread, directory=directory, outbox=outbox,
                                 queue_stats=queue_stats, visible_queues=queues_for(agent))
            if hasattr(thread.link, "on_supervisor_message"):  # a BusLink, as in production

                def said(sender: str, text: str, w: AgentWindow = window) -> None:
                    post(w, show_supervisor_message, w, sender, text)

                thread.link.on_supervisor_message = said
            window.move(40 * offset, 40 * offset)
            window.show()
            window.log_on()
            window.go_ready()
            windows.append(window)
        customers = CustomerWindow(directory, agent_login=agents[0].login if agents else "desktop")
        if queue_stats is not None and agent_states is not None:
            ask = explain

            def explainer(kind: str, name: str) -> Future[ExplainAnswer]:
                assert ask is not None
                return network.call_soon(ask(kind, name))

            do = act

            def actor(action: str, target: str, action_args: dict[str, Any]) -> Future[SupervisorResult]:
                assert do is not None
                return network.call_soon(do(action, target, action_args))

            supervisor = SupervisorWindow(queue_stats=queue_stats, agent_states=agent_states,
                                          explain=explainer if explain else None, act=actor if act else None,
                                          teams=teams, campaigns=campaigns,
                                          sample_s=2.0)  # a short session: a point every 2 s
            supervisor.extension = supervisor_extension  # the supervisor's phone, to listen in
            supervisor.set_capabilities(telephony_capabilities)  # what the demo's PBX link can do
            supervisor.show()
            if windows:
                open_beside(supervisor, windows[0])
            for window in windows:
                window.supervisor_requested.connect(supervisor.show)
                window.supervisor_requested.connect(supervisor.raise_)
        for window in windows:
            window.customers_requested.connect(customers.show)
            window.customers_requested.connect(customers.raise_)
            customers.customer_chosen.connect(window.relink)
        if screenshots is None:
            quit_on_signals(app)  # Ctrl+C in the terminal closes the windows
            names = ", ".join(agent.name for agent in agents)
            print(f"ccenter demo: the workstation of {names} is open on {app.platformName()}; close it, or press "
                  "Ctrl+C here, to stop", file=sys.stderr, flush=True)
            return app.exec()
        if script is None:
            raise ValueError("screenshots need a demo script")
        return _play(network, windows[0], customers, supervisor, script, screenshots)
    finally:
        for window in windows:
            window.close()
        if customers is not None:
            customers.close()
        if supervisor is not None:
            supervisor.close()
        for thread in threads:  # the desktops' links close before the contact center stops
            thread.stop()
        network.stop()


def _listen_in(network: NetworkThread, supervisor: SupervisorWindow, agent: str, call_id: str,
               listeners: Callable[[str], Mapping[str, str]]) -> None:
    """The supervisor listens in silently on the agent's call from the agents table's menu, as a supervisor
    would: the action goes over the bus to the ACD, which asks the gateway; the PBX then has them listening."""
    item = next(a for a in supervisor.agent_menu(agent).actions() if a.objectName() == "listen_monitor")
    if not item.isEnabled():
        raise RuntimeError("demo: listening in is greyed out in the supervisor window")
    acted = expect(supervisor.acted)
    item.trigger()
    if not acted.wait(15_000):
        raise RuntimeError("demo: the ACD did not answer the supervisor's listen-in within 15 s")
    _wait_until(lambda: dict(network.call_soon(_ask(lambda: listeners(call_id))).result(5))
                == {supervisor.extension: "monitor"}, "the supervisor listening in on the call")


def _play(network: NetworkThread, w: AgentWindow, customers: CustomerWindow, supervisor: SupervisorWindow | None,
          script: DemoScript, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    # The same picture on every machine: the default sizes, whatever layout this user saved.
    w.resize(1360, 860)
    customers.resize(1280, 780)
    if supervisor is not None:
        supervisor.resize(1100, 760)
    saved: list[Path] = []
    _wait_until(lambda: w.session.state is AgentStateName.READY, "the agent becoming ready")
    _save(w, folder / "01-agent-ready.png", saved)

    popped = expect(w.screen_popped)
    network.call_soon(_call(lambda: script.place_inbound(script.vip_number)))
    if not popped.wait(30_000):
        raise RuntimeError("demo: the VIP call did not reach the agent within 30 s")
    _wait_until(lambda: "verified" in w.ivr_panel.values, "the IVR data on screen")
    _save(w, folder / "02-screen-pop-ringing.png", saved)

    w.answer()
    _wait_until(lambda: any(c.answered_at is not None for c in w.session.calls.values()), "answering")
    call_id = next(iter(w.session.calls))
    work = w.work[call_id]
    offer = work.customer.offers[0] if work.customer and work.customer.offers else None
    currency = work.customer.profile.accounts[0].currency if work.customer and work.customer.profile.accounts \
        else "USD"
    from crm.repository import OrderLine

    w.add_order(OrderLine(offer.offer if offer and offer.offer else "5G upgrade", Decimal("30.00"), 1, currency,
                          offer.work_item_id if offer else None))
    w.add_request(RequestLine("technical", "Check 5G coverage at the customer's home address"))
    w.customer_view.tabs.setCurrentIndex(3)
    _save(w, folder / "03-on-call-with-order.png", saved)
    if supervisor is not None and script.listeners is not None:
        _listen_in(network, supervisor, w.agent.login, call_id, script.listeners)

    network.call_soon(_call(lambda: script.hang_up_far_end(call_id)))
    _wait_until(lambda: w.wrap_up_work is not None, "the wrap-up")
    with QSignalBlocker(w.disposition):
        w.disposition.setCurrentIndex(w.disposition.findData("order_placed"))
    if offer is not None:
        w.offer_result.setCurrentIndex(w.offer_result.findData("accepted"))
    w.notes.setPlainText("Upgraded to 5G; asked us to check coverage at home.")
    _save(w, folder / "04-wrap-up.png", saved)

    saved_signal = expect(w.contact_saved)
    refreshed = expect(w.customer_refreshed)
    w.save_contact()
    if not saved_signal.wait(15_000):
        raise RuntimeError("demo: the contact was not saved within 15 s")
    if not refreshed.wait(15_000):
        raise RuntimeError("demo: the customer's record was not read again after the save")
    w.customer_view.tabs.setCurrentIndex(1)
    _save(w, folder / "05-contact-saved.png", saved)

    # A preview outbound call of the campaign: the next customer due, the script, then the call.
    loaded = expect(w.preview_loaded)
    w.load_preview()
    if not loaded.wait(15_000) or w.preview is None:
        raise RuntimeError("demo: no outbound call to preview")
    preview = w.preview
    _wait_until(lambda: w.customer_view.customer is not None
                and w.customer_view.customer.profile.id == preview.customer_id, "the preview customer")
    _save(w, folder / "06-preview-outbound.png", saved)
    w.dial_preview()
    _wait_until(lambda: any(c.answered_at is not None for c in w.session.calls.values()), "the customer answering",
                30_000)
    _save(w, folder / "07-outbound-call.png", saved)
    w.hang_up()
    _wait_until(lambda: w.wrap_up_work is not None, "the outbound wrap-up")
    w.disposition.setCurrentIndex(w.disposition.findData("callback_scheduled"))
    w.offer_result.setCurrentIndex(w.offer_result.findData("callback"))
    saved_signal = expect(w.contact_saved)
    w.save_contact()
    if not saved_signal.wait(15_000):
        raise RuntimeError("demo: the outbound contact was not saved within 15 s")

    customers.show()
    customers.search_box.setText(script.vip_number)
    found = expect(customers.customer_loaded)
    customers.search_now()
    found.wait(15_000)
    customers.customer_view.tabs.setCurrentIndex(0)
    customers.results_view.setFocus(Qt.FocusReason.OtherFocusReason)
    _save(customers, folder / "08-customer-history-after-call.png", saved)

    if supervisor is not None:
        network.call_soon(_call(script.place_waiting_calls))
        _wait_until(lambda: any(s.waiting for s in supervisor.queues.stats()), "calls waiting in a queue", 30_000)
        waiting = next(s.queue for s in supervisor.queues.stats() if s.waiting)
        supervisor.raise_()
        explained = expect(supervisor.explained)  # the answer may come back before select_queue returns
        supervisor.select_queue(waiting)
        if not explained.wait(15_000):
            raise RuntimeError("demo: the ACD did not explain the waiting calls")
        supervisor.flush()
        _save(supervisor, folder / "09-supervisor.png", saved)
        _wait_until(lambda: len(supervisor.history.agents) >= 3, "three samples of the day", 30_000)
        supervisor.pages.setCurrentWidget(supervisor.charts)
        _save(supervisor, folder / "10-supervisor-today.png", saved)
        supervisor.refresh_campaigns()
        _wait_until(lambda: supervisor.campaigns.rowCount() > 0, "the campaigns", 15_000)
        supervisor.pages.setCurrentIndex(2)
        _save(supervisor, folder / "11-supervisor-campaigns.png", saved)
    for path in saved:
        print(path)
    return 0
