"""``ccenter agent import|list``: a site's agents from the admin's CSV file."""

from __future__ import annotations

import stat
from pathlib import Path

from ccenter.cli import main
from crm import db, repository


def _credentials(path: Path) -> dict[str, str]:
    return dict(line.split(":", 1) for line in path.read_text().splitlines())


def test_agents_are_imported_with_passwords_once_and_bad_rows_named(db_url: str, tmp_path: Path, capsys) -> None:
    assert main(["db", "upgrade", "--db", db_url]) == 0
    agents = tmp_path / "agents.csv"
    agents.write_text(
        "login,name,role,extension,skills\n"
        "ana,Ana Díaz,agent,2001,sales:7 billing:5\n"
        "sam,Sam Lee,supervisor,2100,\n"
        "svc-acd-1,Not An Agent,agent,,\n"
        "bo,Bo,pilot,2002,\n"
        "cy,Cy,agent,2003,sales:11\n"
        "ana,Ana Again,agent,2009,\n",
        encoding="utf-8",
    )
    credentials = tmp_path / "credentials"
    capsys.readouterr()
    assert main(["agent", "import", str(agents), "--db", db_url, "--credentials", str(credentials)]) == 0
    out = capsys.readouterr().out
    assert "agents: 2 created, 0 updated, 4 rejected" in out
    assert "line 4: login 'svc-acd-1' must be" in out and "line 5: role 'pilot' is not one of" in out
    assert "line 6: skill 'sales:11' is not name:proficiency" in out and "line 7: login ana is also on line 2" in out
    passwords = _credentials(credentials)
    assert set(passwords) == {"ana", "sam"} and stat.S_IMODE(credentials.stat().st_mode) == 0o600
    engine = db.connect(db_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            assert repository.authenticate_agent(session, "ana", passwords["ana"]).extension == "2001"
        # Again, changed: ana keeps her password, her skills and extension follow the file.
        agents.write_text("login,name,extension,skills,active\nana,Ana Díaz,2005,sales:9,yes\nsam,Sam Lee,,,no\n")
        assert main(["agent", "import", str(agents), "--db", db_url]) == 0
        assert "agents: 0 created, 2 updated, 0 rejected" in capsys.readouterr().out
        with db.transaction(db.session_factory(engine)) as session:
            ana = repository.authenticate_agent(session, "ana", passwords["ana"])
            assert (ana.extension, ana.skills, ana.role) == ("2005", {"sales": 9}, "agent")
    finally:
        engine.dispose()
    assert main(["agent", "list", "--db", db_url]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[:3] == ["ana", "agent", "2005"] and listed[0].endswith("sales:9")
