"""The topic scheme of DESIGN.md (a contract): ``ccenter/v1/<site>/...``."""

from __future__ import annotations

import re

PREFIX = "ccenter/v1"
_SEGMENT = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


def _check(value: str, what: str) -> str:
    if not _SEGMENT.match(value):
        raise ValueError(f"{what} {value!r} cannot be a topic segment (letters, digits, _ . : @ - only)")
    return value


def call(site: str, call_id: str) -> str:
    return f"{PREFIX}/{_check(site, 'site')}/calls/{_check(call_id, 'call id')}"


def calls(site: str) -> str:
    return f"{PREFIX}/{_check(site, 'site')}/calls/+"


def agent_events(site: str, agent_id: str) -> str:
    return f"{PREFIX}/{_check(site, 'site')}/agents/{_check(agent_id, 'agent id')}/events"


def agent_commands(site: str, agent_id: str) -> str:
    return f"{PREFIX}/{_check(site, 'site')}/agents/{_check(agent_id, 'agent id')}/commands"


def queue_stats(site: str, queue: str) -> str:
    return f"{PREFIX}/{_check(site, 'site')}/queues/{_check(queue, 'queue')}/stats"


def cti_commands(site: str) -> str:
    return f"{PREFIX}/{_check(site, 'site')}/cti/commands"


def presence(site: str, client_id: str) -> str:
    return f"{PREFIX}/{_check(site, 'site')}/presence/{_check(client_id, 'client id')}"


def all_agent_events(site: str) -> str:
    """The filter for every agent's events: ``ccenter/v1/<site>/agents/+/events``."""
    return f"{PREFIX}/{_check(site, 'site')}/agents/+/events"


def all_presence(site: str) -> str:
    """The filter for every client's presence: ``ccenter/v1/<site>/presence/+``."""
    return f"{PREFIX}/{_check(site, 'site')}/presence/+"


def all_queue_stats(site: str) -> str:
    """The filter for every queue's statistics: ``ccenter/v1/<site>/queues/+/stats``."""
    return f"{PREFIX}/{_check(site, 'site')}/queues/+/stats"


def acd_leader(site: str) -> str:
    """The ACD leader record (retained): ``ccenter/v1/<site>/acd/leader``."""
    return f"{PREFIX}/{_check(site, 'site')}/acd/leader"


def acd_state(site: str) -> str:
    """The ACD leader's state snapshot (retained): ``ccenter/v1/<site>/acd/state``."""
    return f"{PREFIX}/{_check(site, 'site')}/acd/state"


def matches(pattern: str, topic: str) -> bool:
    """MQTT topic-filter matching (``+`` one level, ``#`` the rest)."""
    pattern_parts = pattern.split("/")
    topic_parts = topic.split("/")
    for i, part in enumerate(pattern_parts):
        if part == "#":
            return True
        if i >= len(topic_parts):
            return False
        if part not in ("+", topic_parts[i]):
            return False
    return len(pattern_parts) == len(topic_parts)
