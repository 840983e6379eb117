"""Real SIP programs on loopback, for the SIP tests and ``bench/sip.py``: baresip softphones, SIPp, Kamailio.

Each program gets ports chosen free at run time and a configuration generated in a folder of its
own (no audio hardware: baresip plays an 8 kHz WAV with ``aufile`` and plays what it receives into
``aubridge``, a sink nothing listens to). Every program started here is stopped by its process id
(:meth:`Program.stop`), never by name.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import socket
import struct
import subprocess
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

from bench._ports import free_port, free_udp_range

BARESIP = shutil.which("baresip")
SIPP = shutil.which("sipp")
KAMAILIO = shutil.which("kamailio") or (
    "/usr/sbin/kamailio" if os.path.exists("/usr/sbin/kamailio") else None
)
BARESIP_MODULES = "/usr/lib/baresip/modules"


def missing_programs(*names: str) -> list[str]:
    """Which of ``baresip``, ``sipp``, ``kamailio`` are not installed."""
    found = {"baresip": BARESIP, "sipp": SIPP, "kamailio": KAMAILIO}
    return [n for n in names if not found[n]]


def write_tone(path: Path, seconds: float = 120.0, hz: int = 400) -> Path:
    """An 8 kHz, 16-bit mono WAV with a tone: what a softphone sends as its voice.

    baresip 1.0 ends a call when its ``aufile`` source reaches the end of the file ("end of file"),
    so the file lasts longer than any call of the tests.
    """
    period = 8000 // hz
    cycle = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * i / period))) for i in range(period))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(cycle * int(seconds * hz))
    return path


@dataclass
class Program:
    """One started program: its process, its folder and its log."""

    name: str
    process: subprocess.Popen[bytes]
    folder: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the process by its id: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def _start(name: str, argv: list[str], folder: Path) -> Program:
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder)
    return Program(name, process, folder, log)


def wait_for_log(program: Program, text: str, timeout: float = 15.0) -> None:
    """Block until ``text`` appears in the program's log; raise if it exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while text not in program.log_text():
        if not program.running():
            raise RuntimeError(f"{program.name} exited ({program.process.returncode}): {program.log_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{program.name} did not say {text!r} within {timeout} s: {program.log_text()[-2000:]}")
        time.sleep(0.05)


@dataclass
class Softphone:
    """A baresip softphone: SIP on ``sip_port`` (UDP and TCP), ``ctrl_tcp`` on ``ctrl_port``."""

    user: str
    folder: Path
    sip_port: int
    ctrl_port: int
    registrar: str | None = None
    program: Program | None = None
    rtp: tuple[int, int] = field(default=(0, 0))

    @property
    def uri(self) -> str:
        """Where to call this phone directly (without a proxy)."""
        return f"sip:{self.user}@127.0.0.1:{self.sip_port}"

    @property
    def link_url(self) -> str:
        return f"baresip://127.0.0.1:{self.ctrl_port}?extension={self.user}"

    @property
    def pid(self) -> int:
        assert self.program is not None
        return self.program.pid

    def start(self) -> Softphone:
        """Start (or start again, on the same ports) and return once it is ready."""
        self.program = _start(
            f"baresip-{self.user}", [BARESIP or "baresip", "-f", str(self.folder)], self.folder
        )
        wait_for_log(self.program, "baresip is ready.")
        return self

    def stop(self) -> None:
        if self.program is not None:
            self.program.stop()


def softphone(
    root: Path,
    user: str,
    *,
    wav: Path | None = None,
    registrar: str | None = None,
    answermode: str = "manual",
    lines: tuple[str, ...] = (),
) -> Softphone:
    """Generate a baresip configuration for ``user`` in ``root/user`` (not started yet).

    With ``registrar`` (``host:port``) the phone registers there as ``sip:user@host:port`` (and as
    each of ``lines``) and dials through it; without, it is reached directly at :attr:`Softphone.uri`.
    """
    folder = root / f"baresip-{user}"
    folder.mkdir(parents=True, exist_ok=True)
    wav = wav or write_tone(folder / "voice.wav")
    sip_port, ctrl_port = free_port(span=2), free_port()
    rtp = free_udp_range(8)
    (folder / "config").write_text(
        "\n".join(
            [
                "poll_method epoll",
                f"sip_listen 127.0.0.1:{sip_port}",
                "call_local_timeout 120",
                "call_max_calls 64",
                "audio_player aubridge,nil",
                f"audio_source aufile,{wav}",
                "audio_alert aubridge,nil",
                f"rtp_ports {rtp[0]}-{rtp[1]}",
                f"module_path {BARESIP_MODULES}",
                "module g711.so",
                "module aufile.so",
                "module aubridge.so",
                "module_tmp account.so",
                "module_app menu.so",
                "module_app ctrl_tcp.so",
                f"ctrl_tcp_listen 127.0.0.1:{ctrl_port}",
                "",
            ]
        )
    )
    if registrar:
        account = f"<sip:{user}@{registrar};transport=udp>;regint=600;answermode={answermode}"
    else:
        account = f"<sip:{user}@127.0.0.1:{sip_port}>;regint=0;answermode={answermode}"
    for line in lines:  # more accounts registered by the same phone (a queue's number that rings all agents)
        account += f"\n<sip:{line}@{registrar};transport=udp>;regint=600;answermode={answermode}"
    (folder / "accounts").write_text(account + "\n")
    return Softphone(user, folder, sip_port, ctrl_port, registrar=registrar, rtp=rtp)


@dataclass
class SippRun:
    program: Program
    folder: Path
    port: int

    def wait(self, timeout: float) -> int:
        try:
            return self.program.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.program.stop()
            raise

    @property
    def errors(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.folder.glob("*_errors.log"))


def sipp(
    folder: Path,
    scenario: str | Path,
    target: str | None,
    *,
    service: str = "s",
    port: int | None = None,
    calls: int = 1,
    rate: float | None = None,
    extra: list[str] | None = None,
    timeout_s: int = 30,
    name: str = "sipp",
) -> SippRun:
    """Start SIPp with ``scenario`` (a file, or a built-in name such as ``uac``) toward ``target``.

    Without ``target`` it answers calls (a UAS scenario) on ``port``. It runs in the background of
    this process (``-nostdin``, no screen); :meth:`SippRun.wait` collects it. Its exit code is 0
    when every call passed the scenario.
    """
    folder.mkdir(parents=True, exist_ok=True)
    argv = [SIPP or "sipp"]
    argv += ["-sf", str(scenario)] if str(scenario).endswith(".xml") else ["-sn", str(scenario)]
    port = port or free_port()
    argv += [target] if target else []
    argv += ["-s", service, "-i", "127.0.0.1", "-p", str(port), "-m", str(calls)]
    argv += ["-nostdin", "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_err", "-trace_stat", "-fd", "1"]
    if rate is not None:
        argv += ["-r", str(rate)]
    argv += extra or []
    return SippRun(_start(name, argv, folder), folder, port)


@contextlib.contextmanager
def running(*programs: Softphone | Program):  # type: ignore[no-untyped-def]
    """Stop the given programs (by process id) when the block ends, whatever happens in it."""
    try:
        yield programs
    finally:
        for program in programs:
            program.stop()


KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"

#: The registrar and proxy: phones REGISTER, calls go to where a user registered (404 for nobody).
#: INVITEs carrying X-CC-Queue or User-to-User get them as x-cc- parameters of the From URI (with
#: uac's restore, the caller never sees the change): baresip 1.0 reports the caller's URI, not headers.
KAMAILIO_CFG = """#!KAMAILIO
debug=2
log_stderror=yes
memdbg=5
memlog=5
children=2
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
mpath="{modules}"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "uac.so"
modparam("usrloc", "db_mode", 0)
modparam("rr", "append_fromtag", 1)
modparam("uac", "restore_mode", "auto")
modparam("uac", "rr_from_store_param", "ccfrom")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (has_totag()) {{
        if (loose_route()) {{
            t_relay();
            exit;
        }}
        if (is_method("ACK")) {{
            if (t_check_trans()) {{
                t_relay();
            }}
            exit;
        }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    t_check_trans();
    if (is_method("REGISTER")) {{
        save("location");
        exit;
    }}
    record_route();
    if (is_method("INVITE")) {{
        $var(from) = $fu;
        if (is_present_hf("X-CC-Queue")) {{
            $var(from) = $var(from) + ";x-cc-queue=" + $(hdr(X-CC-Queue){{s.escape.param}});
        }}
        if (is_present_hf("User-to-User")) {{
            $var(from) = $var(from) + ";x-cc-uui=" + $(hdr(User-to-User){{s.select,0,;}}{{s.escape.param}});
        }}
        if ($var(from) != $fu) {{
            uac_replace_from("$fn", "$var(from)");
        }}
    }}
    if (!lookup("location")) {{
        sl_send_reply("404", "Not Found");
        exit;
    }}
    xlog("L_INFO", "ccenter: $rm $fu -> $ru\\n");
    t_relay();
}}
"""


def kamailio(root: Path) -> tuple[Program, int]:
    """Start Kamailio as registrar and proxy on a free port; returns it (stop it by its process id) and the port."""
    folder = root / "kamailio"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cfg = folder / "kamailio.cfg"
    cfg.write_text(KAMAILIO_CFG.format(port=port, modules=KAMAILIO_MODULES))
    argv = [KAMAILIO or "kamailio", "-f", str(cfg), "-DD", "-E", "-m", "32", "-M", "4",
            "-Y", str(folder), "-P", str(folder / "kamailio.pid")]
    program = _start("kamailio", argv, folder)
    _wait_listening(program, port)
    return program, port


def _wait_listening(program: Program, port: int, timeout: float = 15.0) -> None:
    """Block until ``program`` accepts TCP connections on ``port``."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        if not program.running():
            raise RuntimeError(f"{program.name} exited ({program.process.returncode}): {program.log_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{program.name} does not listen on {port}: {program.log_text()[-2000:]}")
        time.sleep(0.05)
