"""``ccenter unlock agent|pin``: an administrator lifts a lockout; the right secret works at once, and
the unlock is in the log with who did it and why."""

from __future__ import annotations

import getpass
import logging

import pytest
from sqlalchemy import Engine, select

from ccenter.cli import main
from crm import db, repository
from crm.ivr_data import IvrData
from crm.lockout import MAX_FAILURES, Verdict
from crm.models import Account, Agent
from tests.crm.test_lockout import add_account, add_agent
from tests.helpers import ExpectLog


@pytest.mark.expect_log(logging.WARNING, "crm.repository.customers", match="PIN of account 10000042 locked")
@pytest.mark.expect_log(logging.WARNING, "crm.repository.agents", match="log-in of agent alice locked")
def test_unlocking_a_pin_and_a_login_is_audited(
    engine: Engine, db_url: str, expect_log: ExpectLog, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = expect_log(logging.WARNING, "ccenter.audit", match=r" unlocked the ")
    add_account(engine)
    add_agent(engine)
    data = IvrData(db.session_factory(engine))
    for _ in range(MAX_FAILURES):
        data.verify_pin("10000042", "0000")
    factory = db.session_factory(engine)
    for _ in range(MAX_FAILURES):
        with db.transaction(factory) as s:
            repository.authenticate_agent(s, "alice", "wrong")
    assert data.verify_pin("10000042", "4321") is Verdict.LOCKED

    assert main(["unlock", "pin", "10000042", "--db", db_url, "--reason", "caller verified\nby questions"]) == 0
    assert main(["unlock", "agent", "alice", "--db", db_url, "--reason", "new badge"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("unlocked the PIN of account 10000042 (it was locked until ")
    assert out[0].endswith(f"after {MAX_FAILURES} wrong tries)")
    assert out[1].startswith("unlocked the log-in of agent alice (it was locked until ")

    assert data.verify_pin("10000042", "4321") is Verdict.VERIFIED
    with db.transaction(factory) as s:
        assert repository.authenticate_agent(s, "alice", "s3cret") is not None
    with factory() as s:
        assert s.scalar(select(Account.pin_failures)) == 0 and s.scalar(select(Agent.login_failures)) == 0
    lines = [r.getMessage() for r in audit.records]
    user = getpass.getuser()
    assert lines[0].startswith(f"{user} unlocked the PIN of account 10000042 (locked until ")
    assert lines[0].endswith(f"{MAX_FAILURES} wrong tries): caller verified by questions")
    assert lines[1].startswith(f"{user} unlocked the log-in of agent alice (locked until ")
    assert lines[1].endswith("): new badge")


def test_unlocking_what_does_not_exist_says_so(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["unlock", "agent", "nobody", "--db", db_url, "--reason", "x"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.endswith("no agent with the login 'nobody'") and len(err.splitlines()) == 1
    assert main(["unlock", "pin", "999", "--db", db_url, "--reason", "x"]) != 0
    assert capsys.readouterr().err.strip().endswith("no account '999'")


def test_a_reason_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["unlock", "agent", "alice"])
    assert "--reason" in capsys.readouterr().err
