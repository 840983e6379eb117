"""docs/sip.md's "Make a call from SIPp and answer it on the desktop", run as written.

The shell blocks of the walkthrough run in a fresh home folder, with only their fixed ports changed
to free ones (5062, 4444, 18830, 5070): the softphone's configuration, the database, the broker's
users and configuration, Mosquitto, ``ccenter cti-gateway`` and SIPp's call all come from the text.
The agent's side is what ``ccenter desktop`` runs once Alice has logged in, a ``BusLink`` on the broker
with her credentials (the window itself on such a link is tested in test_sip.py and tests/agent_desktop):
the call rings with the caller's number, name and data, is answered, and SIPp sees its call through.
Every program started is stopped by its process id.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._ports import free_port
from bus.messages import AgentStateName, CallEvent
from cti.model import LinkEvent
from tests.end2end.test_sip import require_sip
from tests.helpers import until

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Make a call from SIPp and answer it on the desktop"


def walkthrough_blocks() -> list[str]:
    text = (ROOT / "docs" / "sip.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(block) for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def one_command(block: str, starts: str) -> str:
    """The command of ``block`` starting with ``starts`` (continuation lines joined), without ``&``
    and its comment."""
    lines = block.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(starts))
    command = lines[at]
    while command.rstrip().endswith("\\"):
        at += 1
        command = command.rstrip()[:-1] + " " + lines[at].strip()
    return re.sub(r"\s*&\s*(#.*)?$", "", command.split("  #")[0].rstrip())


class Shell:
    """Commands of the walkthrough, in a home of their own, with ``ccenter`` on the PATH."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "HOME": str(home),
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        for name in ("CCENTER_DB", "CCENTER_SITE", "CCENTER_MQTT", "CCENTER_CONFIG"):
            self.env.pop(name, None)
        self.started: list[subprocess.Popen[bytes]] = []

    def run(self, script: str, cwd: Path | None = None) -> str:
        done = subprocess.run(["bash", "-euc", script], cwd=cwd or self.home, env=self.env, capture_output=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout.decode(errors="replace")

    def start(self, script: str, log: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start the last command of ``script`` in place of the shell (``exec``: its pid is the program's)."""
        *before, last = script.strip().splitlines()
        with log.open("wb") as out:
            process = subprocess.Popen(["bash", "-euc", "\n".join([*before, f"exec {last}"])], cwd=cwd or self.home,
                                       env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    require_sip("baresip", "sipp")
    if shutil.which("mosquitto") is None:
        pytest.skip("mosquitto is not installed")
    home = tmp_path / "home"
    home.mkdir()
    sh = Shell(home)
    try:
        yield sh
    finally:
        sh.stop()


def wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    async def seen() -> bool:
        assert process.poll() is None, f"{process.args} exited: {log.read_text(errors='replace')[-2000:]}"
        return text in log.read_text(errors="replace")

    async def wait() -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await seen():
            assert asyncio.get_running_loop().time() < deadline, f"no {text!r} in {log}: {log.read_text()[-2000:]}"
            await asyncio.sleep(0.05)

    asyncio.run(wait())


def test_the_walkthrough_makes_a_call_from_sipp_that_alice_answers(shell: Shell) -> None:
    phone, ccenter, call = walkthrough_blocks()
    ports = {"5062": str(free_port(span=2)), "4444": str(free_port(udp=False)),
             "18830": str(free_port(udp=False)), "5070": str(free_port())}

    def ported(block: str) -> str:
        return re.sub(r"\b(5062|4444|18830|5070)\b", lambda m: ports[m.group(1)], block)

    phone, ccenter, call = ported(phone), ported(ccenter), ported(call)
    ccsip = shell.home / "ccsip"

    # 1. The softphone.
    *setup, start = phone.strip().splitlines()
    shell.run("\n".join(setup))
    assert start == "baresip -f phone"
    baresip = shell.start(f"cd {ccsip}\n{start}", shell.home / "baresip.log")
    wait_for(shell.home / "baresip.log", "baresip is ready.", baresip)

    # 2. ccenter: database, broker users and configuration, Mosquitto, the gateway.
    lines = ccenter.strip().splitlines()
    upto = next(i for i, line in enumerate(lines) if line.startswith("mosquitto "))
    preamble = "\n".join(line for line in lines[:2])  # cd ~/ccsip, export CCENTER_DB=... CCENTER_SITE=sip
    shell.run("\n".join(lines[:upto]))
    broker = shell.start(one_command(ccenter, "mosquitto "), shell.home / "mosquitto.log", cwd=ccsip)
    wait_for(shell.home / "mosquitto.log", "running", broker)
    pw = next(line for line in lines if line.startswith("pw() "))
    gateway = shell.start("\n".join([preamble, pw, one_command(ccenter, "ccenter cti-gateway")]),
                          shell.home / "gateway.log")
    desktop = one_command(ccenter, "ccenter desktop")
    credentials = dict(line.split(":", 1) for line in (ccsip / "broker.credentials").read_text().splitlines()
                       if ":" in line)
    mqtt = f"mqtt://alice:{credentials['alice']}@127.0.0.1:{ports['18830']}"
    assert desktop == (f'ccenter desktop --mqtt "mqtt://alice:$(pw alice)@127.0.0.1:{ports["18830"]}" '
                       "--agent alice --extension 1001")

    # The agent's desktop, logged in as alice on extension 1001: its link to the gateway.
    async def agent() -> tuple[list[LinkEvent], int]:
        import socket

        from cti.buslink import BusLink

        # as `ccenter desktop` opens it (ccenter/commands/desktop.py)
        desk = BusLink.from_url(mqtt, site="sip", agent_id="alice", client_id=f"desktop-alice-{socket.gethostname()}")
        await desk.connect()
        seen: list[LinkEvent] = []

        async def pull() -> None:
            async for event in desk.events():
                seen.append(event)

        puller = asyncio.create_task(pull())
        try:
            await until(lambda: desk.gateway is not None and desk.link_up and "answer" in {
                c.value for c in desk.capabilities}, 30)
            # Logged in: not ready on extension 1001, as the window's log-on says it.
            await desk.set_agent_state("alice", AgentStateName.NOT_READY, reason="logged on", extension="1001")
            # 3. The customer calls, from the checkout.
            command = call.strip()
            assert command.startswith("sipp -sf tests/cti/sip/scenarios/caller.xml ")
            sipp = shell.start(command, shell.home / "sipp.log", cwd=ROOT)
            await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.alerting" for e in seen), 20)
            rung = next(e for e in seen if isinstance(e, CallEvent) and e.type == "call.alerting")
            assert (rung.calling, rung.calling_name, rung.extension) == ("+8613800000001", "Zhang Wei", "1001")
            await desk.answer(rung.call_id, "1001")  # Answer
            await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.ended" for e in seen), 30)
            status = await asyncio.to_thread(sipp.wait, 20)
        finally:
            await desk.close()
            await puller
        return seen, status

    events, status = asyncio.run(agent())
    assert status == 0, (shell.home / "sipp.log").read_text(errors="replace")[-2000:]
    kinds = [e.type for e in events if isinstance(e, CallEvent)]
    assert kinds[-2:] == ["call.answered", "call.ended"] and "call.alerting" in kinds
    data = [e.data for e in events if isinstance(e, CallEvent) and e.type == "call.data"]
    assert {"account": "4711", "intent": "billing"} in data
    assert gateway.poll() is None and baresip.poll() is None and broker.poll() is None
