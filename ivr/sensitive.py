"""Sensitive values (PINs, card numbers, security codes): held wrapped, shown only masked.

A flow declares a collected value sensitive (``sensitive: true`` on a ``collect`` node); the engine
wraps it in :class:`Secret` as soon as it is read. ``str()``, ``repr()``, ``format()`` and the JSON
helpers of the IVR only ever see :meth:`Secret.masked`; the clear value is handed to one place only,
the PIN check of a :class:`~ivr.lookup.CustomerLookup` (answering the engine's
:class:`~ivr.engine.VerifyPin` request), through :meth:`Secret.reveal`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

MASK_CHAR = "*"


class MaskStyle(StrEnum):
    """How a sensitive value may be shown: nothing of it (PINs, security codes) or its last four."""

    FULL = "full"
    LAST4 = "last4"


def mask(value: str, style: MaskStyle = MaskStyle.FULL) -> str:
    if style is MaskStyle.LAST4 and len(value) > 4:
        return MASK_CHAR * (len(value) - 4) + value[-4:]
    return MASK_CHAR * 4


class Secret:
    """A sensitive value. Compares by identity; never prints its content."""

    __slots__ = ("_style", "_value")

    def __init__(self, value: str, style: MaskStyle = MaskStyle.FULL) -> None:
        self._value = value
        self._style = style

    def reveal(self) -> str:
        """The clear value: for the PIN check only."""
        return self._value

    def masked(self) -> str:
        return mask(self._value, self._style)

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    def __format__(self, spec: str) -> str:
        return format(self.masked(), spec)

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("a Secret cannot be pickled")


def public(value: Any) -> Any:
    """``value`` safe to show: secrets masked, containers walked."""
    if isinstance(value, Secret):
        return value.masked()
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [public(v) for v in value]
    return value
