"""The serial driver on real pseudo-terminals (os.openpty, and socat when installed) and loop://."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from bus.messages import CallEvent
from cti.errors import BadLinkUrl, LocalProtocolError
from cti.link import CtiLink
from cti.model import LinkEvent
from cti.serial.link import SerialLink, SerialSettings
from tests.helpers import until

CALLER = b"RING\r\n\r\nDATE = 0321\r\nTIME = 1405\r\nNMBR = 4155550100\r\nNAME = ACME CORP\r\n\r\n"


async def next_events(link: CtiLink, n: int, timeout: float = 5.0) -> list[LinkEvent]:
    out: list[LinkEvent] = []

    async def pull() -> None:
        async for event in link.events():
            out.append(event)
            if len(out) == n:
                return

    await asyncio.wait_for(pull(), timeout)
    return out


def repoint(link_path: Path, target: str) -> None:
    tmp = link_path.with_suffix(".new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link_path)


def test_settings_from_url() -> None:
    s = SerialSettings.from_url("serial:///dev/ttyUSB0?baud=1200&parity=e&rtscts=1&mode=smdr")
    assert (s.port, s.baudrate, s.parity, s.rtscts, s.mode) == ("/dev/ttyUSB0", 1200, "E", True, "smdr")
    assert SerialSettings.from_url("serial+loop://").port == "loop://"
    for bad in ("serial://", "serial:///dev/x?baud=fast", "serial:///dev/x?colour=red", "http://x"):
        with pytest.raises(BadLinkUrl):
            SerialSettings.from_url(bad)


@pytest.mark.expect_log(logging.WARNING, "cti.serial.link", match=r"^serial port .*/ttyCID lost \(.*\): reopening$")
def test_caller_id_over_openpty_survives_unplug_and_replug(tmp_path: Path) -> None:
    device = tmp_path / "ttyCID"

    fds: list[int] = []

    async def go() -> list[LinkEvent]:
        master, slave = os.openpty()
        repoint(device, os.ttyname(slave))
        link = SerialLink(SerialSettings(port=str(device), reopen_min_s=0.05, quiet_s=0.3))
        await link.connect()
        try:
            await link.wait_open(5)
            os.write(master, CALLER)
            first = await next_events(link, 2)
            # unplug: the pty disappears; the call in progress ends
            os.close(master)
            os.close(slave)
            lost = await next_events(link, 1)
            # plug back in (a new pty behind the same device name)
            master2, slave2 = os.openpty()
            fds.extend((master2, slave2))
            repoint(device, os.ttyname(slave2))
            await until(lambda: link.stats.opens == 2 and link.opened.is_set())
            os.write(master2, CALLER.replace(b"4155550100", b"4155550199"))
            second = await next_events(link, 2)
            return first + lost + second
        finally:
            await link.close()

    try:
        events = asyncio.run(go())
    finally:
        for fd in fds:
            os.close(fd)
    rows = [(e.type, e.call_id, e.calling or e.cause) for e in events if isinstance(e, CallEvent)]
    assert rows == [
        ("call.offered", "modem-1", "4155550100"),
        ("call.alerting", "modem-1", None),
        ("call.ended", "modem-1", "link_lost"),
        ("call.offered", "modem-2", "4155550199"),
        ("call.alerting", "modem-2", None),
    ]


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_caller_id_over_socat_pty_pair(tmp_path: Path) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    proc = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def go() -> list[LinkEvent]:
        await until(lambda: a.exists() and b.exists())
        link = SerialLink(SerialSettings(port=str(a), reopen_min_s=0.05, quiet_s=0.3, init=()))
        await link.connect()
        try:
            await link.wait_open(5)
            fd = os.open(b, os.O_RDWR | os.O_NOCTTY)
            try:
                os.write(fd, CALLER)
                return await next_events(link, 2)
            finally:
                os.close(fd)
        finally:
            await link.close()

    try:
        events = asyncio.run(go())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(5)
    assert [(e.type, e.calling) for e in events if isinstance(e, CallEvent)] == [
        ("call.offered", "4155550100"),
        ("call.alerting", None),
    ]


def test_soft_dialing_on_loop_url() -> None:
    async def go() -> list[LinkEvent]:
        link = SerialLink(SerialSettings(port="loop://", quiet_s=0.3))
        await link.connect()
        try:
            await link.wait_open(5)
            with pytest.raises(LocalProtocolError):
                await link.make_call("modem", "555\r\nATH0")
            call_id = await link.make_call("modem", "5551234")
            assert call_id == "modem-1"
            # loop:// hands our own bytes back: the echoed ATDT is ignored, the result ends the call
            link.port.write(b"\r\nBUSY\r\n")
            return await next_events(link, 3)
        finally:
            await link.close()

    events = asyncio.run(go())
    assert [(e.type, e.cause) for e in events if isinstance(e, CallEvent)] == [
        ("call.offered", None),
        ("call.alerting", None),
        ("call.ended", "busy"),
    ]
