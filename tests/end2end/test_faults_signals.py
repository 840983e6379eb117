"""``ccenter cti-gateway`` stops on SIGTERM whatever its broker does: a gateway whose broker went away
(it waits for the link, its publishes waiting too) exits within a few seconds, with status 0 (docs/cti.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.end2end.private import private_mosquitto

pytestmark = pytest.mark.faults
PROMPT_S = 5.0


def test_the_gateway_stops_on_sigterm_while_its_broker_is_down(tmp_path: Path) -> None:
    site = f"sig-{uuid.uuid4().hex[:8]}"
    with private_mosquitto(persistence=False) as broker:
        env = {**os.environ, "CCENTER_SITE": site, "CCENTER_MQTT": broker.url, "PYTHONUNBUFFERED": "1",
               "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
        log = tmp_path / "gateway.log"
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "ccenter", "-v", "cti-gateway", "--link", "sim://"],
                                       stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 30
            while "bridged to" not in log.read_text(errors="replace"):
                assert process.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.05)
            broker.stop()
            while "lost" not in log.read_text(errors="replace"):  # the gateway knows its broker is gone
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.05)
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(PROMPT_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {PROMPT_S:g} s after SIGTERM:\n{log.read_text(errors='replace')}")
            took = time.monotonic() - sent
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(5)
            broker.start()  # the context stops it again
    assert code == 0, log.read_text(errors="replace")
    assert took < PROMPT_S
    assert "Traceback" not in log.read_text(errors="replace")
