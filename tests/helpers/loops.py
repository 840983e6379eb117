"""Event loops as Windows gives them, for tests that prove a loop is a selector loop.

On Windows the default loop is a proactor loop, whose ``add_reader`` raises ``NotImplementedError``;
aiomqtt needs ``add_reader``. Tests make the default loop such a loop on every platform.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any


class ProactorLike(asyncio.SelectorEventLoop):
    """What Windows' default loop is to aiomqtt: no ``add_reader``, no ``add_writer``."""

    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        raise NotImplementedError

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        raise NotImplementedError


class ProactorByDefault(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return ProactorLike()


async def readers_work(loop: asyncio.AbstractEventLoop) -> type[asyncio.AbstractEventLoop]:
    """Register a reader on a socket and see it fire, as aiomqtt does with the broker's socket."""
    ours, theirs = socket.socketpair()
    try:
        readable = asyncio.Event()
        loop.add_reader(ours.fileno(), readable.set)
        theirs.send(b"x")
        await asyncio.wait_for(readable.wait(), 5)
        loop.remove_reader(ours.fileno())
    finally:
        ours.close()
        theirs.close()
    return type(loop)
