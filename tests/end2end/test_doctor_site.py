"""``ccenter doctor`` on a whole site's configuration, against a private Mosquitto with the shipped ACL.

Each process's identity is probed with its own credentials: the topics its role both writes and reads
must come back; a user given a role it was not provisioned for is named with the topics refused.
The prompts of the configured flows are looked for in a sounds directory as Asterisk would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._ports import free_port as _free_port
from bus.errors import BrokerUnavailable, BusError
from ccenter.cli import main
from ccenter.commands.broker import DEFAULT_SERVICES, provision
from ccenter.commands.doctor import broker_probe, broker_role, flow_audio
from ccenter.commands.ivr import resolve_flow
from crm.broker_accounts import BrokerAgent

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="Mosquitto is not installed")



@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """A private Mosquitto refusing anonymous clients, with the users and ACL ``broker provision`` writes."""
    passwd, acl = tmp_path / "ccenter.passwd", tmp_path / "ccenter.acl"
    passwords, _ = provision(passwd, acl, [BrokerAgent("a7")], DEFAULT_SERVICES)
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n"
        "persistence false\n" + ("user root\n" if os.geteuid() == 0 else "")
    )
    log = tmp_path / "mosquitto.log"
    with log.open("ab") as out:
        process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 20
        while True:  # the listener open (a condition, polled), or the broker gone
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert time.monotonic() < deadline, "mosquitto did not open its listener"
            time.sleep(0.05)
        yield port, passwords
    finally:
        process.terminate()
        process.wait(20)


def _url(port: int, passwords: dict[str, str], user: str, password: str | None = None) -> str:
    return f"mqtt://{user}:{password or passwords[user]}@127.0.0.1:{port}"


def test_every_identity_of_a_site_passes_its_own_probe(broker) -> None:
    port, passwords = broker

    async def go() -> None:
        for user in [*DEFAULT_SERVICES, "a7"]:
            detail = await broker_probe(_url(port, passwords, user), "hq", broker_role(user, None), timeout=5)
            assert f"as {user}; role {broker_role(user, None)}:" in detail

    asyncio.run(go())


def test_a_role_the_acl_does_not_grant_is_named_with_its_topics(broker) -> None:
    port, passwords = broker

    async def go() -> None:
        with pytest.raises(BusError, match=r"svc-ivr \(role acd\) may not both write and read .*acd/leader"):
            await broker_probe(_url(port, passwords, "svc-ivr"), "hq", "acd", timeout=1)
        with pytest.raises(BrokerUnavailable, match="Not authorized"):
            await broker_probe(_url(port, passwords, "a7", "guess"), "hq", "agent", timeout=1)

    asyncio.run(go())


def test_roles_are_read_from_service_user_names() -> None:
    assert broker_role("svc-acd-2", None) == "acd"
    assert broker_role("svc-cti-gateway", None) == "cti-gateway"
    assert broker_role("svc-dialer-3", None) == "dialer"
    assert broker_role("a7", None) == "agent"
    assert broker_role(None, None) is None
    with pytest.raises(BusError, match="give --role"):
        broker_role("svc-mystery", None)
    with pytest.raises(BusError, match="unknown role 'boss'"):
        broker_role("a7", "boss")


def _sounds_for(directory: Path, flow: str, *, leave_out: int = 0) -> int:
    """Write an 8 kHz file for every prompt of ``flow`` under ``directory`` but the last ``leave_out``."""
    wanted = flow_audio(resolve_flow(flow))
    for _, language, sound in wanted[: len(wanted) - leave_out]:
        path = directory / f"{sound}.wav" if language == "*" else directory / language / f"{sound}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF")
    return len(wanted)


def test_doctor_checks_a_site_configuration(broker, tmp_path: Path, capsys) -> None:
    port, passwords = broker
    db_url = f"sqlite:///{tmp_path / 'site.db'}"
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert main(["db", "seed", "--customers", "0", "--db", db_url]) == 0
    sounds = tmp_path / "sounds"
    total = _sounds_for(sounds, "telecom", leave_out=2)
    config = tmp_path / "acd.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\n[mqtt]\nurl = "{_url(port, passwords, "svc-acd-1")}"\n'
        f'[ivr]\nsounds_dir = "{sounds}"\nflows = ["telecom"]\n'
    )
    capsys.readouterr()
    assert main(["doctor", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "ok      database" in out
    assert "ok      broker    connected to" in out and "as svc-acd-1; role acd: 8 topics written and read back" in out
    assert "ok      flows     telecom: every queue" in out
    assert f"BROKEN  prompts   2 of {total} prompts are not in {sounds}" in out
    _sounds_for(sounds, "telecom")
    assert main(["doctor", "--config", str(config)]) == 0
    assert f"ok      prompts   telecom: all {total} prompts are in {sounds}" in capsys.readouterr().out
    # The same site, seen by the dialer's identity given the ACD's role: its refused topics are named.
    assert main(["doctor", "--config", str(config), "--mqtt", _url(port, passwords, "svc-dialer"),
                 "--role", "acd"]) == 1
    assert "BROKEN  broker    svc-dialer (role acd) may not both write and read" in capsys.readouterr().out


def test_the_link_check_reaches_csta_and_finds_serial_devices(tmp_path: Path) -> None:
    from ccenter.commands.doctor import LinkBroken, check_link

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert check_link(f"csta://127.0.0.1:{port}") == f"the CSTA server 127.0.0.1:{port} accepts connections"
    with pytest.raises(LinkBroken, match=f"127.0.0.1:{port} cannot be reached"):
        check_link(f"csta://127.0.0.1:{port}")
    device = tmp_path / "ttyUSB0"
    with pytest.raises(LinkBroken, match=f"no serial device {device}"):
        check_link(f"serial://{device}?baud=9600")
    device.write_bytes(b"")
    assert check_link(f"serial://{device}?baud=9600") == f"the serial device {device} is there and may be opened"
    assert check_link("sim://") == "the simulated PBX: nothing to reach"


def test_doctor_takes_the_link_from_the_gateways_environment(tmp_path: Path, capsys,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db_url = f"sqlite:///{tmp_path / 'site.db'}"
    assert main(["db", "upgrade", "--db", db_url]) == 0
    monkeypatch.setenv("CCENTER_LINK", f"serial://{tmp_path / 'ttyS9'}")
    capsys.readouterr()
    assert main(["doctor", "--db", db_url]) == 1
    assert f"BROKEN  link      no serial device {tmp_path / 'ttyS9'}" in capsys.readouterr().out
