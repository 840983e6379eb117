"""Record real baresip ``ctrl_tcp`` sessions into tests/fixtures/cti/baresip/ (run by hand; needs baresip, sipp).

``python -m tests.cti.sip.record_baresip`` starts softphones and SIPp on free loopback ports, plays
each session below and writes one JSON line per frame: ``{"dir": "in", "frame": "<netstring>"}``
for what baresip sent (byte for byte) and ``{"dir": "out", "command": {...}}`` for what was sent to
it. ``tests/cti/sip/test_baresip_link.py`` replays them with a fake ``ctrl_tcp`` peer.
"""

from __future__ import annotations

import base64
import json
import os
import select
import socket
import sys
import tempfile
import time
from pathlib import Path

from bench import _sipkit as kit

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "cti" / "baresip"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


class Recorder:
    def __init__(self, port: int, path: Path) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.lines: list[str] = []
        self.path = path
        self.buf = b""
        self.frames: list[dict] = []
        self.n = 0
        self.checked = 0

    def send(self, command: str, params: str | None = None) -> None:
        self.n += 1
        message: dict[str, str] = {"command": command, "token": f"rec{self.n}"}
        if params is not None:
            message["params"] = params
        raw = json.dumps(message).encode()
        self.sock.sendall(str(len(raw)).encode() + b":" + raw + b",")
        self.lines.append(json.dumps({"dir": "out", "command": message}))

    def _seen(self, until: str) -> bool:
        for n in range(self.checked, len(self.frames)):
            if self.frames[n].get("type") == until:
                self.checked = n + 1
                return True
        return False

    def pump(self, seconds: float, until: str | None = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if until and self._seen(until):
                return
            ready, _, _ = select.select([self.sock], [], [], 0.05)
            if not ready:
                continue
            data = self.sock.recv(65536)
            if not data:
                return
            self.buf += data
            while True:
                head, sep, rest = self.buf.partition(b":")
                if not sep:
                    break
                size = int(head)
                if len(rest) < size + 1:
                    break
                frame, self.buf = self.buf[: len(head) + 1 + size + 1], rest[size + 1 :]
                try:
                    entry = {"dir": "in", "frame": frame.decode()}
                except UnicodeDecodeError:  # baresip passes on what the network sent: not always UTF-8
                    entry = {"dir": "in", "frame_b64": base64.b64encode(frame).decode()}
                self.lines.append(json.dumps(entry, ensure_ascii=False))
                self.frames.append(json.loads(frame[len(head) + 1 : -1].decode("utf-8", "replace")))
        if until:
            raise TimeoutError(f"no {until} within {seconds} s")

    def last_id(self) -> str:
        return next(f["id"] for f in reversed(self.frames) if f.get("id"))

    def save(self) -> None:
        self.path.write_text("\n".join(self.lines) + "\n")
        self.sock.close()


def main(argv: list[str]) -> int:
    """Record the sessions named in ``argv`` (inbound, outbound, errors, transfer, names), or all of them."""
    wanted = set(argv) or {"inbound", "outbound", "errors", "transfer", "names"}

    with tempfile.TemporaryDirectory(dir=os.environ.get("SIP_RECORD_TMP") or None) as tmp:
        root = Path(tmp)
        a = kit.softphone(root, "1001").start()
        b = kit.softphone(root, "1002", wav=a.folder / "voice.wav").start()
        c = kit.softphone(root, "5550100", wav=a.folder / "voice.wav").start()
        try:
            if "inbound" in wanted:
                inbound(root, a)
            if "outbound" in wanted:
                outbound(root, a)
            if "errors" in wanted:
                errors(a)
            if "transfer" in wanted:
                transfer(root, a, b, c)
            if "names" in wanted:
                names(root, a)
        finally:
            for p in (a, b, c):
                p.stop()
    return 0


def inbound(root: Path, a: kit.Softphone) -> None:
    # 1. inbound from SIPp, answered, held, resumed, DTMF, mute on/off; the caller hangs up.
    r = Recorder(a.ctrl_port, OUT / "inbound.jsonl")
    run = kit.sipp(root / "s1", SCENARIOS / "caller.xml", f"127.0.0.1:{a.sip_port}", service="1001",
)
    r.pump(5, until="CALL_INCOMING")
    call = r.last_id()
    r.send("callfind", call)
    r.pump(0.3)
    r.send("accept")
    r.pump(3, until="CALL_ESTABLISHED")
    for cmd, prm in [("callfind", call), ("hold", None), ("callfind", call), ("resume", None),
                     ("callfind", call), ("sndcode", "12#"), ("callfind", call), ("mute", None),
                     ("callfind", call), ("mute", None)]:
        r.send(cmd, prm)
        r.pump(0.3)
    r.pump(10, until="CALL_CLOSED")
    r.send("listcalls")
    r.pump(0.5)
    r.save()
    run.wait(20)


def outbound(root: Path, a: kit.Softphone) -> None:
    # 2. outbound: busy, then no answer (the phone gives up), then answered and hung up by the agent.
    r = Recorder(a.ctrl_port, OUT / "outbound.jsonl")
    for scenario in ("far_busy", "far_ring", "far_answer"):
        far = kit.sipp(root / scenario, SCENARIOS / f"{scenario}.xml", None, name=scenario)
        r.send("dial", f"sip:5550199@127.0.0.1:{far.port}")
        if scenario == "far_busy":
            r.pump(5, until="CALL_CLOSED")
        else:
            r.pump(5, until="CALL_RINGING")
            call = r.last_id()
            if scenario == "far_answer":
                r.pump(5, until="CALL_ESTABLISHED")
            r.send("callfind", call)
            r.pump(0.3)
            r.send("hangup")
            r.pump(3, until="CALL_CLOSED")
        far.wait(10)
    r.save()


def errors(a: kit.Softphone) -> None:
    # 3. errors: commands without a call, an unknown command, a call that is not there, accounts.
    r = Recorder(a.ctrl_port, OUT / "errors.jsonl")
    r.send("hold")
    r.pump(0.5)
    r.send("nosuchcommand", "x")
    r.pump(0.5)
    r.send("callfind", "nosuchcall@127.0.0.1")
    r.pump(0.5)
    r.send("accept")
    r.pump(0.5)
    r.send("uafind", f"sip:{a.user}@127.0.0.1:{a.sip_port}")
    r.pump(0.5)
    r.send("uafind", "sip:nobody@127.0.0.1")
    r.pump(0.5)
    r.save()


def transfer(root: Path, a: kit.Softphone, b: kit.Softphone, c: kit.Softphone) -> None:
    # 4. blind transfer: baresip caller C calls A, A answers and transfers to B; C calls B.
    r = Recorder(a.ctrl_port, OUT / "transfer.jsonl")
    rc = Recorder(c.ctrl_port, root / "c.jsonl")
    rb = Recorder(b.ctrl_port, OUT / "transfer_target.jsonl")
    rc.send("dial", a.uri)
    r.pump(5, until="CALL_INCOMING")
    call = r.last_id()
    r.send("callfind", call)
    r.pump(0.3)
    r.send("accept")
    r.pump(3, until="CALL_ESTABLISHED")
    r.send("callfind", call)
    r.pump(0.3)
    r.send("transfer", b.uri)
    r.pump(0.5)
    rb.pump(5, until="CALL_INCOMING")
    rb.send("callfind", rb.last_id())
    rb.pump(0.3)
    rb.send("accept")
    rb.pump(3, until="CALL_ESTABLISHED")
    r.pump(5, until="CALL_CLOSED")
    rb.save()
    r.save()
    rc.pump(1)
    rc.save()


def names(root: Path, a: kit.Softphone) -> None:
    # 5. callers' names as the network sends them: UTF-8 (Chinese), and Latin-1 (not UTF-8 at all).
    r = Recorder(a.ctrl_port, OUT / "names.jsonl")
    source = (SCENARIOS / "caller_gives_up.xml").read_text(encoding="latin-1")
    for name, text, encoding in (("utf8", "\u5f20\u4f1f", "utf-8"), ("latin1", "Jos\xe9", "latin-1")):
        scenario = root / f"{name}.xml"
        scenario.write_bytes(source.replace("Li Na", text).replace("ISO-8859-1", encoding.upper()).encode(encoding))
        run = kit.sipp(root / name, scenario, f"127.0.0.1:{a.sip_port}", service="1001")
        r.pump(8, until="CALL_CLOSED")
        run.wait(10)
    r.save()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
