"""``ccenter broker provision``: users from the agents table, Mosquitto's password format, the ACL."""

from __future__ import annotations

import base64
import hashlib
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ccenter.cli import main
from ccenter.commands.broker import DEFAULT_SERVICES, ProvisionError, acl_text, password_hash, provision
from crm.broker_accounts import BrokerAgent
from crm.models import Agent, Role

PACKAGING = Path(__file__).resolve().parents[2] / "packaging" / "mosquitto"


def test_the_shipped_acl_is_what_provision_writes_for_the_default_services() -> None:
    assert (PACKAGING / "ccenter.acl").read_text() == acl_text(DEFAULT_SERVICES)


def test_a_supervisor_reads_their_teams_agents_and_an_admin_every_agent() -> None:
    people = [BrokerAgent("sam", "supervisor", "north"), BrokerAgent("a1", "agent", "north"),
              BrokerAgent("a2", "agent", "south"), BrokerAgent("b3", "agent", "north"),
              BrokerAgent("root", "admin"), BrokerAgent("lone", "supervisor")]
    sections = {block.split("\n")[1]: block for block in acl_text({}, people).split("\n\n")[1:]}
    sam = sections["user sam"]
    assert "agents/a1/events" in sam and "agents/b3/day" in sam and "agents/a2" not in sam
    assert "agents/+" not in sam and "calls/" not in sam
    assert "topic read ccenter/v1/+/agents/+/events" in sections["user root"]
    assert "topic read ccenter/v1/+/calls/+" in sections["user root"]
    assert "/agents/" not in sections["user lone"]  # a supervisor of no team reads no agent
    assert "user a1" not in sections and "user a2" not in sections  # agents: the patterns only


def test_password_hashes_are_mosquittos() -> None:
    hashed = password_hash("secret", salt=b"0123456789ab", iterations=101)
    _, seven, rounds, salt, digest = hashed.split("$")
    assert (seven, rounds, base64.b64decode(salt)) == ("7", "101", b"0123456789ab")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac("sha512", b"secret", b"0123456789ab", 101)


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd is not installed")
def test_mosquitto_passwd_reads_and_extends_our_file(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    new, _ = provision(passwd, tmp_path / "acl", [BrokerAgent("a7")], {"svc-acd-1": "acd"})
    # Mosquitto's own tool parses our file (it rewrites every line it reads) and adds to it.
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "extra", "pw"], check=True, capture_output=True)
    kept, removed = provision(passwd, tmp_path / "acl", [BrokerAgent("a7")], {"svc-acd-1": "acd"})
    assert kept == {} and removed == ["extra"] and set(new) == {"a7", "svc-acd-1"}


def test_provision_from_the_agents_table(engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Session(engine) as session, session.begin():
        session.add_all([
            Agent(login="a7", name="A Seven", role=Role.AGENT, team="north"),
            Agent(login="sue", name="Sue", role=Role.SUPERVISOR, team="north"),
            Agent(login="gone", name="Gone", role=Role.AGENT, active=False),
        ])
    passwd, acl, creds = tmp_path / "passwd", tmp_path / "acl", tmp_path / "creds"
    args = ["broker", "provision", "--db", str(engine.url.render_as_string(hide_password=False)),
            "--passwd", str(passwd), "--acl", str(acl), "--credentials", str(creds)]
    assert main(args) == 0
    users = [line.split(":")[0] for line in passwd.read_text().splitlines()]
    assert users == [*DEFAULT_SERVICES, "a7", "sue"]
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o600 and stat.S_IMODE(creds.stat().st_mode) == 0o600
    # Sue supervises team north: she reads a7's topics (and her own), by name, and no wildcard.
    sue = acl.read_text().split("user sue\n")[1].split("\n\n")[0].splitlines()
    assert [line for line in sue if "/agents/" in line] == [
        "topic read ccenter/v1/+/agents/a7/events", "topic read ccenter/v1/+/agents/a7/day",
        "topic read ccenter/v1/+/agents/a7/workflows",
        "topic read ccenter/v1/+/agents/sue/events", "topic read ccenter/v1/+/agents/sue/day",
        "topic read ccenter/v1/+/agents/sue/workflows"]
    first = creds.read_text()
    assert len(first.splitlines()) == len(users)
    before = passwd.read_text()
    assert main(args) == 0  # again: nobody new, every password kept
    assert passwd.read_text() == before and creds.read_text() == first
    assert "0 new, 0 removed" in capsys.readouterr().err


def test_bad_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="cannot be a broker user"):
        provision(tmp_path / "p", tmp_path / "a", [BrokerAgent("svc-acd-1")])
    with pytest.raises(ProvisionError, match="cannot be a broker user"):
        provision(tmp_path / "p", tmp_path / "a", [BrokerAgent("a/b")])
    with pytest.raises(ProvisionError, match="unknown service role"):
        provision(tmp_path / "p", tmp_path / "a", [], {"svc-x": "root"})
    assert main(["broker", "provision", "--no-agents", "--passwd", str(tmp_path / "p"), "--acl",
                 str(tmp_path / "a"), "--service", "svc-x=root"]) == 1
