"""``ccenter api token add|revoke`` and the command line of ``ccenter api``."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from ccenter.cli import main
from crm import db
from crm.repository import tokens


def test_a_system_token_is_printed_once_works_and_can_be_revoked(
        db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["api", "token", "add", "bi", "--scope", "campaigns:read", "--scope", "campaigns:write",
                 "--db", db_url]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert len(token) >= 40 and "shown once" in err
    with db.session_factory(engine)() as s:
        owner = tokens.resolve_token(s, token)
    assert owner is not None and (owner.name, owner.scopes) == ("bi", frozenset({"campaigns:read", "campaigns:write"}))
    assert main(["api", "token", "revoke", "bi", "--db", db_url]) == 0
    assert "1 token(s) of bi revoked" in capsys.readouterr().err
    with db.session_factory(engine)() as s:
        assert tokens.resolve_token(s, token) is None
    assert main(["api", "token", "revoke", "bi", "--db", db_url]) == 1


def test_a_desk_scope_cannot_be_given_to_a_system_and_listen_must_be_host_port(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["api", "token", "add", "bi", "--scope", "desk"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit):
        main(["api", "--listen", "nowhere"])
    assert "is not HOST:PORT" in capsys.readouterr().err
