"""baresip events → normalized call events, for one softphone (one extension). No I/O.

``call_id``: a call the phone received keeps ``sip-<its SIP Call-ID>`` (made topic-safe) from ring
to end, across hold, resume and link reconnects; a call the agent dials gets its ``call_id`` when it
is dialled (the phone names its SIP Call-ID only with the first answer from the far end), and keeps it.

What the events carry: ``peeruri`` (the other party's SIP URI; its user part is the number),
``peerdisplayname`` (the caller's name), ``direction``, ``id`` (the SIP Call-ID) and ``param``
(for ``CALL_CLOSED`` the reason: ``486 Busy Here``, ``Connection reset by peer`` when the other
party hung up, ``Connection reset by user`` when this phone did, ``Call transfered`` after a
transfer the target took).

Attached data: baresip (1.0, Debian 12) reports no SIP headers in its events, so data travels in
the caller's URI: ``x-cc-<key>=<value>`` URI parameters (``sip:+86138...@host;x-cc-account=4711``)
and ``X-CC-<key>`` URI headers (``sip:...@host?X-CC-Account=4711``) become ``call.data``
``{"<key>": "<value>"}``; a proxy in front of the phones (Kamailio, docs/sip.md) moves the
``X-CC-`` headers and ``User-to-User`` of the INVITE there.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from bus.messages import CallEvent, CallEventType

from ..model import DialOutcome, LinkEvent
from .codec import BaresipEvent

_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Longest attached value taken from a URI (longer ones are cut, and say so in the log).
MAX_VALUE = 256
MAX_KEYS = 32

#: ``CALL_CLOSED`` reasons (the SIP status code at their start) → the normalized ``cause``.
_CAUSES: dict[str, str] = {
    "486": DialOutcome.BUSY,
    "600": DialOutcome.BUSY,
    "408": DialOutcome.NO_ANSWER,
    "480": DialOutcome.NO_ANSWER,
    "487": DialOutcome.NO_ANSWER,
}


class Phase(StrEnum):
    RINGING = "ringing"  # a call the phone received, not answered
    DIALING = "dialing"  # a call the phone placed, not answered
    CONNECTED = "connected"
    HELD = "held"


@dataclass(slots=True)
class PhoneCall:
    call_id: str
    incoming: bool
    phase: Phase
    peer: str
    sip_id: str | None = None
    aor: str | None = None  # the phone's account (line) the call is on
    muted: bool = False
    transfer_to: str | None = None
    transfer_kind: str = "blind"
    cause: str | None = None  # what ends it, when we end it ourselves (no answer in time)
    data: dict[str, str] = field(default_factory=dict)


def safe_call_id(sip_id: str) -> str:
    """``sip-<Call-ID>`` as a topic segment: other characters become ``_`` (with a hash, so two stay two)."""
    cleaned = _UNSAFE.sub("_", sip_id)[:100]
    if cleaned != sip_id:
        cleaned += "-" + hashlib.sha1(sip_id.encode("utf-8", "replace")).hexdigest()[:8]
    return f"sip-{cleaned}"


def uri_user(uri: str) -> str:
    """The number in a SIP URI: ``sip:+86138@host;p=1`` → ``+86138`` (the whole text when it has no user)."""
    text = uri.strip().strip("<>")
    text = re.sub(r"^(sips?|tel):", "", text, flags=re.IGNORECASE)
    user = text.split("@", 1)[0] if "@" in text else text.split(";", 1)[0].split("?", 1)[0]
    return _CONTROL.sub("", unquote(user.split(";", 1)[0]))


def uri_data(uri: str) -> tuple[dict[str, str], list[str]]:
    """Attached data in a URI (``x-cc-`` parameters and ``X-CC-`` headers), and what was wrong with it."""
    text = uri.strip().strip("<>")
    problems: list[str] = []
    found: dict[str, str] = {}
    rest = text.split("@", 1)[1] if "@" in text else text
    rest, _, headers = rest.partition("?")
    pairs = [p for p in rest.split(";")[1:] if p]
    pairs += [h for h in headers.split("&") if h]
    for pair in pairs:
        name, _, value = pair.partition("=")
        name = unquote(name)
        if not name.lower().startswith("x-cc-"):
            continue
        key = name[5:].lower().replace("-", "_")
        value = _CONTROL.sub("", unquote(value))
        if not key or not re.fullmatch(r"[a-z0-9_]{1,64}", key):
            problems.append(f"attached-data name {name!r} is not usable")
            continue
        if len(value) > MAX_VALUE:
            problems.append(f"attached value {key!r} cut to {MAX_VALUE} characters")
            value = value[:MAX_VALUE]
        if len(found) >= MAX_KEYS:
            problems.append(f"more than {MAX_KEYS} attached values: the rest are left out")
            break
        found[key] = value
    return found, problems


def close_cause(reason: str) -> str:
    """The normalized cause of a ``CALL_CLOSED`` reason."""
    code = reason.split(" ", 1)[0]
    if code in _CAUSES:
        return _CAUSES[code]
    if code.isdigit() and len(code) == 3 and code[0] in "3456":
        return DialOutcome.FAILED
    return "normal"


class BaresipMapper:
    """Folds one softphone's events into normalized events; knows the phone's calls.

    ``extension`` is the agent's extension, the device events name (by default the user part of
    the phone's account, learnt from its first event); ``agent_id`` goes on ``call.answered``.
    """

    def __init__(
        self,
        *,
        extension: str | None = None,
        agent_id: str | None = None,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.extension = extension
        self.agent_id = agent_id
        self._clock = clock
        self._new_id = new_id or (lambda: f"sip-out-{uuid.uuid4().hex[:16]}")
        self.calls: dict[str, PhoneCall] = {}  # call_id -> call
        self._by_sip: dict[str, str] = {}  # SIP Call-ID -> call_id
        self._dialing: list[str] = []  # call_ids of dialled calls whose SIP Call-ID is not known yet
        self.problems: list[str] = []  # attached-data problems of the last event (logged by the link)

    # -- helpers -------------------------------------------------------------------------------
    def _event(self, kind: CallEventType, call: PhoneCall, **fields: Any) -> CallEvent:
        return CallEvent(type=kind, call_id=call.call_id, ts=self._clock(), **fields)

    def _parties(self, call: PhoneCall) -> dict[str, str | None]:
        if call.incoming:
            return {"calling": uri_user(call.peer), "called": self.extension}
        return {"calling": self.extension, "called": uri_user(call.peer)}

    def call(self, call_id: str) -> PhoneCall | None:
        return self.calls.get(call_id)

    def sip_id(self, call_id: str) -> str | None:
        call = self.calls.get(call_id)
        return call.sip_id if call else None

    def _forget(self, call: PhoneCall) -> None:
        self.calls.pop(call.call_id, None)
        if call.sip_id is not None:
            self._by_sip.pop(call.sip_id, None)
        if call.call_id in self._dialing:
            self._dialing.remove(call.call_id)

    # -- events from the phone ------------------------------------------------------------------
    def map(self, event: BaresipEvent) -> list[LinkEvent]:
        self.problems = []
        if self.extension is None and (aor := event.get("accountaor")):
            self.extension = uri_user(aor) or None
        if event.klass != "call" and event.type != "CALL_RTPESTAB":
            return []
        sip_id = event.get("id")
        if not sip_id:
            return []
        call_id = self._by_sip.get(sip_id)
        call = self.calls.get(call_id) if call_id else None
        incoming = event.get("direction") != "outgoing"
        if call is None:
            if event.type == "CALL_CLOSED" and (incoming or not self._dialing):
                return []  # a call that ended before we knew of it (or was ended already)
            call, events = self._new_call(event, sip_id, incoming)
        else:
            events = []
        if call.aor is None:
            call.aor = event.get("accountaor")
        if event.type == "CALL_INCOMING":
            return events  # the new call's events
        if event.type in ("CALL_RINGING", "CALL_PROGRESS"):
            return [*events, self._event(CallEventType.ALERTING, call, **self._parties(call))]
        if event.type == "CALL_ESTABLISHED":
            if call.phase in (Phase.CONNECTED, Phase.HELD):
                return events
            call.phase = Phase.CONNECTED
            answered = self._event(CallEventType.ANSWERED, call, extension=self.extension, agent_id=self.agent_id,
                                   **self._parties(call))
            return [*events, answered]
        if event.type == "CALL_CLOSED":
            return events + self._closed(call, event.get("param") or "")
        if event.type == "TRANSFER_FAILED":
            call.transfer_to = None
            failed = self._event(CallEventType.DATA, call, data={"transfer_failed": event.get("param") or ""})
            return [*events, failed]
        return events

    def _new_call(self, event: BaresipEvent, sip_id: str, incoming: bool) -> tuple[PhoneCall, list[LinkEvent]]:
        peer = event.get("peeruri") or ""
        if not incoming and self._dialing:
            # The first event naming the SIP Call-ID of a call we dialled: the dial to this URI, else the oldest.
            call_id = next((c for c in self._dialing if self.calls[c].peer == peer), self._dialing[0])
            self._dialing.remove(call_id)
            call = self.calls[call_id]
            call.sip_id = sip_id
            self._by_sip[sip_id] = call_id
            return call, []
        call = PhoneCall(safe_call_id(sip_id), incoming, Phase.RINGING if incoming else Phase.DIALING, peer, sip_id)
        self.calls[call.call_id] = call
        self._by_sip[sip_id] = call.call_id
        parties = self._parties(call)
        name = event.get("peerdisplayname")
        name = _CONTROL.sub("", name)[:MAX_VALUE] if name else None
        data, self.problems = uri_data(peer)
        call.data = data
        if incoming:
            events: list[LinkEvent] = [self._event(CallEventType.OFFERED, call, calling_name=name, **parties)]
            if data:
                events.append(self._event(CallEventType.DATA, call, data=dict(data)))
            if event.type == "CALL_ESTABLISHED":
                return call, events
            events.append(self._event(CallEventType.ALERTING, call, extension=self.extension, calling_name=name,
                                      **parties))
            return call, events
        # An outgoing call nobody here dialled (the phone's own keypad, or a transfer it carries out).
        return call, [self._event(CallEventType.OFFERED, call, extension=self.extension, **parties)]

    def _closed(self, call: PhoneCall, reason: str) -> list[LinkEvent]:
        self._forget(call)
        data = {"sip": reason} if reason else {}
        if reason == "Call transfered":
            how = {"kind": call.transfer_kind, "by": self.extension, "to": call.transfer_to or ""}
            if "consult_call_id" in call.data:
                how["consult_call_id"] = call.data["consult_call_id"]
            return [
                self._event(CallEventType.TRANSFERRED, call, called=uri_user(call.transfer_to or ""), data=how),
                self._event(CallEventType.ENDED, call, cause="transferred", data=data),
            ]
        cause = call.cause or close_cause(reason)
        return [self._event(CallEventType.ENDED, call, cause=cause, data=data)]

    # -- what the link's commands did -------------------------------------------------------------
    def dialing(self, uri: str, number: str) -> tuple[str, list[LinkEvent]]:
        """A call the agent dials: its ``call_id`` and ``call.offered`` (the agent's extension, the number)."""
        call = PhoneCall(self._new_id(), False, Phase.DIALING, uri)
        self.calls[call.call_id] = call
        self._dialing.append(call.call_id)
        return call.call_id, [
            self._event(CallEventType.OFFERED, call, calling=self.extension, called=number, extension=self.extension)
        ]

    def dial_failed(self, call_id: str, reason: str) -> list[LinkEvent]:
        call = self.calls.get(call_id)
        if call is None:
            return []
        self._forget(call)
        return [self._event(CallEventType.ENDED, call, cause=DialOutcome.FAILED, data={"sip": reason})]

    def held(self, call_id: str, on: bool) -> list[LinkEvent]:
        call = self.calls.get(call_id)
        if call is None or (call.phase is Phase.HELD) == on:
            return []
        call.phase = Phase.HELD if on else Phase.CONNECTED
        kind = CallEventType.HELD if on else CallEventType.RETRIEVED
        return [self._event(kind, call, extension=self.extension, agent_id=self.agent_id)]

    def gone(self, call_id: str, cause: str) -> list[LinkEvent]:
        """The phone no longer has the call (it said so, or it restarted): the call ends here too."""
        call = self.calls.get(call_id)
        if call is None:
            return []
        self._forget(call)
        return [self._event(CallEventType.ENDED, call, cause=cause)]
