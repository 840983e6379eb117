"""The event loop of the server processes: ``ccenter acd``, ``ivr serve``, ``dialer``, ``cti-gateway``.

They run on a selector loop on every platform. ``asyncio.run()`` gives the platform's default loop,
on Windows the proactor loop, which has no ``add_reader``: the MQTT client (aiomqtt, through paho's
socket) needs it. The desktop's network thread makes the same choice
(:func:`agent_desktop.telephony.network_loop`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on a new selector loop, closed afterwards (tasks cancelled, generators shut)."""
    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        return runner.run(main)
