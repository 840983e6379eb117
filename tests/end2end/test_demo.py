"""``ccenter demo --screenshots`` as a new user runs it: a real process on a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QImage
from sqlalchemy import select

from crm import db, supervision
from crm.models import Contact, Order, WorkItem


def test_demo_seeds_an_empty_database_and_saves_screenshots(tmp_path) -> None:
    shots = tmp_path / "shots"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run(
        [sys.executable, "-m", "ccenter", "demo", "--db", f"sqlite:///{tmp_path / 'demo.db'}",
         "--screenshots", str(shots)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "seeding 2,000 demo customers" in result.stderr
    names = sorted(p.name for p in shots.glob("*.png"))
    assert names == [
        "01-agent-ready.png",
        "02-screen-pop-ringing.png",
        "03-on-call-with-order.png",
        "04-wrap-up.png",
        "05-contact-saved.png",
        "06-preview-outbound.png",
        "07-outbound-call.png",
        "08-customer-history-after-call.png",
        "09-supervisor.png",
        "10-supervisor-today.png",
        "11-supervisor-campaigns.png",
    ]
    assert result.stdout.split() == [str(shots / n) for n in names]
    for name in names:
        image = QImage(str(shots / name))
        assert not image.isNull() and image.width() >= 1000 and image.height() >= 600
    assert "Traceback" not in result.stderr and "propagateSizeHints" not in result.stderr
    # The scripted call went through the IVR and the ACD to the agent, and its contact was saved.
    engine = db.connect(f"sqlite:///{tmp_path / 'demo.db'}")
    with db.session_factory(engine)() as s:
        contact, outbound = s.scalars(select(Contact).where(Contact.cti_call_id.is_not(None)).order_by(Contact.id))
        assert outbound.channel.value == "voice_out" and outbound.work_item_id is not None
        assert contact.disposition == "order_placed" and contact.queue == "vip"
        assert contact.ivr_data["fields"]["verified"]["value"] is True
        order = s.scalars(select(Order).where(Order.contact_id == contact.id)).one()
        assert order.work_item_id is not None
        assert s.get_one(WorkItem, order.work_item_id).result == "accepted"
        # The supervisor listened in silently on that call from the window's menu (the script waits until the
        # simulated PBX has them listening), audited by the ACD.
        assert [(e.actor, e.action, e.target, e.result, e.args["mode"]) for e in supervision.audit_entries(s)] == [
            ("sam", "listen", "alice", "ok", "monitor")]
    engine.dispose()
