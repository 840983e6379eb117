"""An agent's correction of the IVR's data travels as production's does: from the desktop through
``BusLink`` and Mosquitto to ``ccenter cti-gateway``, onto the PBX's call, and back to the desktop as
the call's data; the saved contact keeps it with the original."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from agent_desktop.attached import ATTACHED_KEY
from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.outbox import ContactOutbox
from agent_desktop.telephony import LinkThread
from agent_desktop.workstation import AgentWindow
from crm import db, repository
from crm.models import Agent, Customer, PhoneNumber, Tier
from cti.buslink import BusLink
from tests.end2end.test_production import Backend

pytestmark = pytest.mark.mqtt

IVR = {
    "schema": "ccenter.attached/1",
    "fields": {
        "verified": {"value": True, "type": "bool", "editable": False,
                     "set_by": {"kind": "ivr", "name": "verify_pin"}, "at": 1764000000.0},
        "intent": {"value": "billing", "type": "str", "editable": True,
                   "set_by": {"kind": "ivr", "name": "main_menu"}, "at": 1764000010.0},
    },
}


@pytest.fixture
def backend(mqtt_url: str) -> Iterator[Backend]:
    backend = Backend(mqtt_url, f"fix-{uuid.uuid4().hex[:8]}")
    yield backend
    backend.close()


def test_a_correction_reaches_the_pbx_and_comes_back_over_the_broker(
    qtbot, backend: Backend, mqtt_url: str, tmp_path
) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'fix.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        customer = Customer(name="Ada Lovelace", tier=Tier.GOLD)
        customer.phones = [PhoneNumber(e164="+14155550100", is_primary=True)]
        s.add(customer)
        s.add(Agent(id=1, login="alice", name="Alice Morgan", extension="1001"))
    agent = repository.AgentView(1, "alice", "Alice Morgan", "agent", "1001", {"billing": 8})
    link = BusLink.from_url(mqtt_url, site=backend.site, agent_id="alice", client_id=f"desk-{backend.site}")
    thread = LinkThread(link)
    thread.start()
    window = AgentWindow(agent=agent, link=thread, directory=CustomerDirectory(factory),
                         outbox=ContactOutbox(factory, tmp_path / "outbox.jsonl"))
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitUntil(lambda: "attach_data" in thread.capabilities, timeout=10_000)
        window.log_on()
        window.go_ready()
        with qtbot.waitSignal(window.screen_popped, timeout=15_000):
            backend.on_pbx(lambda: backend.pbx.schedule_inbound(backend.pbx.now, "+14155550100", "800",
                                                                queue="billing", data=IVR))  # type: ignore[arg-type]
        call_id = next(iter(window.session.calls))
        window.answer()
        qtbot.waitUntil(lambda: window.session.calls[call_id].answered_at is not None, timeout=10_000)

        box = window.ivr_panel.inputs["intent"]
        box.selectAll()
        qtbot.keyClicks(box, "fault")
        qtbot.keyClick(box, Qt.Key.Key_Return)

        def on_pbx() -> dict[str, object]:
            seen: dict[str, object] = {}
            backend.on_pbx(lambda: seen.update(backend.pbx._call(call_id).data))
            return seen

        qtbot.waitUntil(lambda: ATTACHED_KEY in on_pbx(), timeout=10_000)
        entry = json.loads(str(on_pbx()[ATTACHED_KEY]))["fields"]["intent"]
        assert (entry["value"], entry["set_by"], entry["original"]["value"]) == (
            "fault", {"kind": "agent", "name": "alice"}, "billing")
        # Back through the gateway as the call's data: the session has it, merged into the IVR's fields.
        qtbot.waitUntil(lambda: window.session.calls[call_id].data["fields"]["intent"]["value"] == "fault",
                        timeout=10_000)
        assert window.session.calls[call_id].data["fields"]["verified"]["value"] is True

        backend.on_pbx(lambda: backend.pbx.far_hangup(call_id))
        qtbot.waitUntil(lambda: window.wrap_up_work is not None, timeout=10_000)
        window.disposition.setCurrentIndex(window.disposition.findData("resolved"))
        with qtbot.waitSignal(window.contact_saved, timeout=10_000) as saved:
            window.save_contact()
        with factory() as s:
            (fix,) = repository.contact_ivr_corrections(s, saved.args[0].contact_id)
        assert (fix.field, fix.value, fix.corrected_by, fix.original, fix.original_by) == (
            "intent", "fault", "alice", "billing", "ivr:main_menu")
    finally:
        window.close()
        thread.stop()
        engine.dispose()
