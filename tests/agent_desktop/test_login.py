"""The login dialog against real agents in a real (SQLite) database."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.login import LoginDialog
from crm import db
from crm.models import Agent
from crm.secrets import hash_secret


@pytest.fixture
def directory(tmp_path) -> CustomerDirectory:
    engine: Engine = db.connect(f"sqlite:///{tmp_path / 'login.db'}")
    db.upgrade(engine)
    with db.transaction(db.session_factory(engine)) as s:
        s.add(Agent(login="alice", name="Alice Morgan", extension="1001", password_hash=hash_secret("s3cret", n=2**10)))
        s.add(Agent(login="nobody", name="No Phone", password_hash=hash_secret("s3cret", n=2**10)))
    return CustomerDirectory(db.session_factory(engine))


def test_good_credentials_log_in_with_the_agents_or_the_typed_extension(qtbot, directory) -> None:
    dialog = LoginDialog(directory.authenticate, login="alice")
    qtbot.addWidget(dialog)
    dialog.password_edit.setText("s3cret")
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.try_login()
    assert dialog.agent is not None and (dialog.agent.login, dialog.agent.extension) == ("alice", "1001")
    other = LoginDialog(directory.authenticate, login="alice", extension="2042")
    qtbot.addWidget(other)
    other.password_edit.setText("s3cret")
    with qtbot.waitSignal(other.accepted, timeout=10_000):
        other.try_login()
    assert other.agent is not None and other.agent.extension == "2042"


@pytest.mark.parametrize(
    ("login", "password", "extension", "message"),
    [
        ("alice", "wrong", "", "Unknown agent or wrong password."),
        ("mallory", "s3cret", "", "Unknown agent or wrong password."),
        ("nobody", "s3cret", "", "Type the extension of your phone."),
    ],
)
def test_refusals_say_why_and_keep_the_dialog_open(qtbot, directory, login, password, extension, message) -> None:
    dialog = LoginDialog(directory.authenticate, login=login, extension=extension)
    qtbot.addWidget(dialog)
    dialog.password_edit.setText(password)
    dialog.try_login()
    qtbot.waitUntil(lambda: dialog.error.text() == message, timeout=10_000)
    assert dialog.agent is None and dialog.password_edit.text() == ""


def test_input_is_checked_before_asking_the_database(qtbot, directory) -> None:
    dialog = LoginDialog(directory.authenticate)
    qtbot.addWidget(dialog)
    dialog.try_login()
    assert dialog.error.text() == "Type your agent id and password."
    dialog.login_edit.setText("alice")
    dialog.password_edit.setText("s3cret")
    dialog.extension_edit.setText("10\r\n01")
    dialog.try_login()
    assert dialog.error.text() == "An extension is digits only."
