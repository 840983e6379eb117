"""Free ports on 127.0.0.1 for the programs the tests and benchmarks start (brokers, databases, SIP).

A port is chosen below the kernel's ephemeral range and probed by binding it. A port taken with
``bind(("127.0.0.1", 0))`` comes from the ephemeral range, which the kernel hands to every program's
outgoing connections and unbound UDP sockets: between our probe and the program's own bind, another
process could take it, and the program fails with "Address already in use".
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path

#: Ports this process handed out: never handed out twice (a program may not have bound them yet).
_handed_out: set[int] = set()


def _bindable(port: int, kinds: tuple[int, ...]) -> bool:
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (where it picks ports for outgoing connections)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_PORTS_FROM = 10000
_random = random.Random(os.getpid())


def _candidates(size: int, *, step: int = 1) -> Iterator[int]:
    top = max(_ephemeral_low(), _PORTS_FROM + 1000) - size
    for _ in range(2000):
        yield _random.randrange(_PORTS_FROM, top) // step * step


def free_port(*, span: int = 1, udp: bool = True) -> int:
    """A port free for TCP (and UDP, unless ``udp`` is false: SIP listens on both), with the ``span - 1``
    ports after it free for TCP too (baresip listens for SIP over TLS on the SIP port + 1)."""
    for port in _candidates(span):
        ports = range(port, port + span)
        if any(p in _handed_out for p in ports):
            continue
        if not _bindable(port, (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp else (socket.SOCK_STREAM,)):
            continue
        if not all(_bindable(p, (socket.SOCK_STREAM,)) for p in ports[1:]):
            continue
        _handed_out.update(ports)
        return port
    raise RuntimeError("no free port on 127.0.0.1")


def free_udp_range(size: int = 8) -> tuple[int, int]:
    """``size`` consecutive free UDP ports, starting at an even one (RTP and RTCP pairs)."""
    for base in _candidates(size, step=2):
        ports = range(base, base + size)
        if any(p in _handed_out for p in ports) or not all(_bindable(p, (socket.SOCK_DGRAM,)) for p in ports):
            continue
        _handed_out.update(ports)
        return base, base + size - 1
    raise RuntimeError("no free UDP port range on 127.0.0.1")


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports."""
    return [free_port(udp=False) for _ in range(count)]
