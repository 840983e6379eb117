"""docs/cti.md's socat recipe records what Asterisk sends (``-R``) and what the gateway asks (``-r``),
and the recording decodes with ``ccenter cti decode``."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench._ports import free_port
from cti.ami.client import AmiLink, AmiSettings
from tests.helpers import until

from .ami_server import FakeAsterisk

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cti.md"
pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")



def test_the_documented_socat_recipe_records_the_pbx_side(tmp_path: Path) -> None:
    recipe = re.search(r"`(socat -R [^`]+)`", DOCS.read_text(encoding="utf-8"))
    assert recipe is not None, "docs/cti.md has the socat recipe"
    relay_port = free_port()

    async def main() -> None:
        server = FakeAsterisk()
        await server.start()
        server.new_channel("A", "A", "PJSIP/trunk-00000001", caller="+14155550100", exten="800")
        # fork: the relay serves the readiness probe and then the gateway (the recipe records both)
        listen = f"TCP-LISTEN:{relay_port},reuseaddr,fork,bind=127.0.0.1"
        argv = (recipe.group(1).replace("TCP-LISTEN:15038,reuseaddr", listen)
                .replace("TCP:pbx:5038", f"TCP:127.0.0.1:{server.port}").split())
        relay = subprocess.Popen(argv, cwd=tmp_path)
        try:
            def listening() -> bool:
                try:
                    socket.create_connection(("127.0.0.1", relay_port), timeout=0.2).close()
                except OSError:
                    return False
                return True

            await until(listening)
            link = AmiLink(AmiSettings(host="127.0.0.1", port=relay_port, username="cc", secret="s3cret",
                                       reconnect_min=0.05, reconnect_max=0.1, action_timeout=3.0, connect_timeout=5.0))
            await link.connect()
            await link.close()
        finally:
            relay.terminate()
            relay.wait(5)
            await server.stop()

    asyncio.run(main())
    from_pbx = (tmp_path / "ami-capture.txt").read_bytes()
    to_pbx = (tmp_path / "ami-actions.txt").read_bytes()
    assert from_pbx.startswith(b"Asterisk Call Manager/") and b"Response: Success" in from_pbx
    assert b"Action: Login" in to_pbx and b"Action: Login" not in from_pbx
    decoded = subprocess.run([sys.executable, "-m", "ccenter", "cti", "decode", "--protocol", "ami",
                              str(tmp_path / "ami-capture.txt")], capture_output=True, text=True, timeout=60)
    assert decoded.returncode == 0 and '"call.offered"' in decoded.stdout and "+14155550100" in decoded.stdout

