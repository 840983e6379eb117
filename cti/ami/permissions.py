"""Which AMI actions the gateway needs, which manager.conf ``write`` classes each one takes, and
what the link can offer with the actions its account may run.

Asterisk lets an account run an action when the account's ``write`` classes share one class with
the action's (an action registered with no class is open to every account). ``ListCommands`` lists
exactly the actions the logged-in account may run; :class:`~cti.ami.client.AmiLink` asks it after
every login and advertises only the capabilities whose actions are all allowed.

The classes are those the actions are registered with in Asterisk's sources (``manager.c``,
``app_queue.c``, ``res_mutestream.c``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..model import Capability

#: action (lower case) -> the write classes any one of which lets an account run it (empty: any account).
ACTION_CLASSES: Mapping[str, frozenset[str]] = {
    "challenge": frozenset(),
    "login": frozenset(),
    "logoff": frozenset(),
    "ping": frozenset(),
    "listcommands": frozenset(),
    "queuestatus": frozenset(),
    "coreshowchannels": frozenset({"system", "reporting"}),
    "originate": frozenset({"originate"}),
    "hangup": frozenset({"system", "call"}),
    "redirect": frozenset({"call"}),
    "bridge": frozenset({"call"}),
    "playdtmf": frozenset({"call"}),
    "setvar": frozenset({"call"}),
    "queueadd": frozenset({"agent"}),
    "queueremove": frozenset({"agent"}),
    "queuepause": frozenset({"agent"}),
    "muteaudio": frozenset({"system"}),
}

#: What each capability (and each ACD/dialer function) sends.
CAPABILITY_ACTIONS: Mapping[str, tuple[str, ...]] = {
    Capability.MAKE_CALL: ("Originate",),
    Capability.LISTEN: ("Originate",),  # into ChanSpy
    Capability.HANGUP: ("Hangup",),
    Capability.HOLD: ("Redirect", "Hangup"),
    Capability.RETRIEVE: ("Originate",),
    Capability.CONSULT: ("Redirect", "Hangup", "Originate"),
    Capability.CONFERENCE: ("Redirect",),
    Capability.BLIND_TRANSFER: ("Redirect",),
    Capability.ATTENDED_TRANSFER: ("Bridge", "Hangup"),
    Capability.SEND_DTMF: ("PlayDTMF",),
    Capability.MUTE: ("MuteAudio",),
    Capability.SET_AGENT_STATE: ("QueueAdd", "QueueRemove", "QueuePause"),
    Capability.ATTACH_DATA: ("Setvar",),
    "resync": ("CoreShowChannels", "QueueStatus"),
    "deliver": ("Redirect",),
    "dial_out": ("Originate",),
}

#: The account docs/cti.md gives: every capability, and the call resync after a reconnect.
RECOMMENDED_WRITE = ("call", "originate", "agent", "reporting", "system")
RECOMMENDED_READ = ("call", "agent", "user", "dialplan")


def allowed(action: str, write_classes: Iterable[str]) -> bool:
    """Whether an account with these ``write`` classes may run ``action`` (unknown actions: assume yes)."""
    needed = ACTION_CLASSES.get(action.lower())
    if not needed:
        return True
    have = {c.strip().lower() for c in write_classes}
    return "all" in have or bool(needed & have)


@dataclass(frozen=True, slots=True)
class Missing:
    """A function the account cannot carry out: the actions it lacks and the classes that would allow them."""

    function: str
    actions: tuple[str, ...]
    classes: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.function}: {', '.join(self.actions)} denied (needs write = {' or '.join(self.classes)})"


def missing(permitted: Iterable[str]) -> list[Missing]:
    """The functions whose actions are not all among ``permitted`` (action names, any case)."""
    have = {a.lower() for a in permitted}
    out: list[Missing] = []
    for function, actions in CAPABILITY_ACTIONS.items():
        lacking = tuple(a for a in actions if ACTION_CLASSES.get(a.lower()) and a.lower() not in have)
        if lacking:
            classes = sorted({c for a in lacking for c in ACTION_CLASSES[a.lower()]})
            out.append(Missing(str(function), lacking, tuple(classes)))
    return out


def capabilities(permitted: Iterable[str], offered: Iterable[Capability]) -> frozenset[Capability]:
    """The capabilities among ``offered`` whose actions are all ``permitted``."""
    have = {a.lower() for a in permitted}
    return frozenset(
        c
        for c in offered
        if all(not ACTION_CLASSES.get(a.lower()) or a.lower() in have for a in CAPABILITY_ACTIONS.get(c, ()))
    )
