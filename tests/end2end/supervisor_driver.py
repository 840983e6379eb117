"""Runs the production ``ccenter supervisor`` in a process of its own, typing into the login dialog what a
person would, then reports what the window showed and what became of two actions, as one JSON line.

``python -m tests.end2end.supervisor_driver DB_URL MQTT_URL PASSWORD [LOGIN]`` (used by test_supervisor_production).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def drive(db_url: str, mqtt_url: str, password: str, login: str = "", timeout: float = 20.0) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import agent_desktop.login as login_module
    import agent_desktop.supervisor as supervisor_module
    from bus.messages import SupervisorResult
    from ccenter.cli import main

    seen: dict[str, Any] = {"results": [], "explained": []}

    def log_in(dialog: Any) -> bool:
        seen["prefilled"] = dialog.login_edit.text()
        if login:
            dialog.login_edit.setText(login)
        dialog.password_edit.setText(password)
        dialog.try_login()
        deadline = time.monotonic() + timeout
        while dialog.agent is None and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)
        return dialog.agent is not None

    shown = supervisor_module.SupervisorWindow.show

    def show(window: Any) -> None:
        shown(window)
        deadline = time.monotonic() + timeout
        window.acted.connect(lambda r: seen["results"].append(
            [r.target, r.result] if isinstance(r, SupervisorResult) else [None, repr(r)]))
        window.explained.connect(seen["explained"].append)

        def look() -> None:
            rows = {r.agent_id: r.state for r in window.agents.rows()}
            if ("alice" not in rows or len(window.tiles.tiles) < 9) and time.monotonic() < deadline:
                QTimer.singleShot(50, look)
                return
            seen["rows"], seen["tiles"] = rows, sorted(window.tiles.tiles)
            seen["team"] = window.team_filter.currentData()
            seen["message_team"] = window.message_team_button.isEnabled()
            window.act_on("force_not_ready", "alice")
            window.act_on("force_not_ready", "erin")
            window.select_queue("sales")  # the Why pane asks the ACD, as a click on the tile does
            QTimer.singleShot(50, why_alice)

        def why_alice() -> None:  # one question at a time: the pane shows the latest answer
            if not seen["explained"] and time.monotonic() < deadline:
                QTimer.singleShot(50, why_alice)
                return
            window.agent_view.selectRow(0)  # alice, the one agent of the team in view
            QTimer.singleShot(50, finish)

        def finish() -> None:
            if (len(seen["results"]) < 2 or len(seen["explained"]) < 2) and time.monotonic() < deadline:
                QTimer.singleShot(50, finish)
                return
            seen["later_rows"] = sorted(r.agent_id for r in window.agents.rows())
            QApplication.quit()

        QTimer.singleShot(0, look)

    login_module.LoginDialog.exec = log_in  # type: ignore[method-assign]
    supervisor_module.SupervisorWindow.show = show  # type: ignore[method-assign]
    seen["code"] = main(["supervisor", "--db", db_url, "--mqtt", mqtt_url])
    print(json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(drive(*sys.argv[1:5]))
