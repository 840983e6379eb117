"""The server processes run on a selector loop, whatever loop the platform gives by default.

On Windows, ``asyncio.run()`` runs on the proactor loop, whose ``add_reader`` raises
``NotImplementedError``; aiomqtt needs ``add_reader``. Here the default loop is made such a loop,
so these tests fail as a Windows server would: each server command, as a real process on the real
broker, must still reach the broker, say it is ready, and stop cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from typing import Any

import pytest

from ccenter.loop import run
from tests.helpers.loops import ProactorByDefault, ProactorLike, readers_work

#: Runs ``ccenter ARGS`` in a process whose default event loop has no readers.
SCRIPT = """
import asyncio, sys
from tests.helpers.loops import ProactorByDefault
asyncio.set_event_loop_policy(ProactorByDefault())
from ccenter.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def proactor_by_default() -> Any:
    asyncio.set_event_loop_policy(ProactorByDefault())
    try:
        default = asyncio.new_event_loop()
        with pytest.raises(NotImplementedError):  # the stand-in really lacks what aiomqtt needs
            default.add_reader(0, print)
        default.close()
        yield
    finally:
        asyncio.set_event_loop_policy(None)


async def _readers_work() -> type[asyncio.AbstractEventLoop]:
    return await readers_work(asyncio.get_running_loop())


def test_the_server_loop_is_a_selector_loop_with_readers(proactor_by_default: None) -> None:
    loop_type = run(_readers_work())
    assert issubclass(loop_type, asyncio.SelectorEventLoop) and not issubclass(loop_type, ProactorLike)


@pytest.mark.mqtt
@pytest.mark.parametrize(
    ("argv", "ready"),
    [
        (["acd", "--no-standby", "--queues", "{tmp}/acd.yaml"], "ccenter acd "),
        (["dialer"], "ccenter dialer "),
        (["ivr", "serve", "--fastagi", "127.0.0.1:0", "--data", "demo"], "FastAGI listening on "),
        (["-v", "cti-gateway", "--link", "sim://?extensions=2"], "bridged to"),
    ],
    ids=["acd", "dialer", "ivr-serve", "cti-gateway"],
)
def test_a_server_reaches_the_broker_when_the_default_loop_has_no_readers(
    argv: list[str], ready: str, mqtt_url: str, _sqlite_template: str, tmp_path
) -> None:
    database = tmp_path / "server.db"
    shutil.copy(_sqlite_template, database)
    (tmp_path / "acd.yaml").write_text("queues:\n  - {name: sales}\nagents:\n  - {id: alice, skills: {sales: 5}}\n")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    site = f"loop-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CCENTER_SITE": site}
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *argv, "--db", f"sqlite:///{database}", "--mqtt", mqtt_url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    seen: list[str] = []
    deadline = threading.Timer(30, process.kill)  # a server that neither gets ready nor exits fails, not hangs
    deadline.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:  # ends when the process does
            seen.append(line)
            if ready in line:
                break
        assert any(ready in line for line in seen), "".join(seen)
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=15)
        assert process.returncode == 0, "".join(seen) + rest
        assert "Traceback" not in rest
    finally:
        deadline.cancel()
        if process.poll() is None:
            process.kill()
            process.communicate()
