"""The topic scheme of DESIGN.md (a contract): ``ccenter/v1/<site>/...``.

Every topic and subscription filter of the suite is built here and nowhere else, and a topic that
came from the broker is taken apart only by :func:`parse`:

- ``ccenter/v1/<site>/calls/<call_id>``: :func:`call`, parsed as :class:`CallTopic`;
- ``.../agents/<agent_id>/events`` and ``.../commands``: :func:`agent_events`, :func:`agent_commands`
  (:class:`AgentEventsTopic`, :class:`AgentCommandsTopic`);
- ``.../agents/<agent_id>/day``: :func:`agent_day` (:class:`AgentDayTopic`), the leading ACD's figures of
  the agent's day (retained), read by the supervisors of the agent's team;
- ``.../agents/<agent_id>/presence``: :func:`agent_presence` (:class:`AgentPresenceTopic`), whether the
  agent's desktop is connected (retained; its offline is the desktop's MQTT last will), written by that
  agent's identity alone and read by the ACDs;
- ``.../agents/<agent_id>/workflows``: :func:`agent_workflows` (:class:`AgentWorkflowsTopic`), changes
  of the workflows of the orders and service requests that agent took (``ccenter api``), read by that
  agent's desktops and the supervisors of its team;
- ``.../queues/<queue>/stats``: :func:`queue_stats` (:class:`QueueStatsTopic`);
- ``.../cti/commands``, ``.../cti/results``, ``.../cti/capabilities``: :func:`cti_commands`,
  :func:`cti_results`, :func:`cti_capabilities`;
- ``.../presence/<client_id>``: :func:`presence` (:class:`PresenceTopic`);
- ``.../acd/leader``, ``.../acd/state``: :func:`acd_leader`, :func:`acd_state`;
- ``.../acd/explain``, ``.../acd/explanations``: :func:`acd_explain`, :func:`acd_explanations`
  (site-wide tools' questions to the leading ACD and its answers);
- ``.../supervisors/<login>/actions`` and ``.../results``: :func:`supervisor_actions`,
  :func:`supervisor_results` (:class:`SupervisorActionsTopic`, :class:`SupervisorResultsTopic`): a
  supervisor's actions and questions to the ACD, and what became of them and the ACD's answers.

Filters: :func:`calls`, :func:`all_agent_events`, :func:`all_agent_workflows`, :func:`all_agent_commands`,
:func:`all_queue_stats`, :func:`all_presence` (``+`` for the variable level) and :func:`everything`
(``ccenter/v1/<site>/#``).
A site or id is one topic level of letters, digits and ``_ . : @ -``: ``/``, ``+`` and ``#`` (which
would change what a topic addresses) are refused with :class:`TopicError`, as is any topic
:func:`parse` does not know.

A call id is written into its topic with each ``.`` escaped as ``~2E`` (:func:`escape`; ``~`` is
never in an id, so :func:`unescape` gives the id back exactly): NATS' MQTT interface disconnects a
client that publishes to a topic with a ``.`` (NATS subjects use it as their separator), and
Asterisk's call ids have one (``1700000000.12``). :func:`parse` returns the call id as it was.
Sites, agent ids, logins and queue names are written as they are (a broker ACL matches them by the
user name, ``%u``): on NATS they must not contain a ``.``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import BusError

PREFIX = "ccenter/v1"
_SEGMENT = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


class TopicError(BusError, ValueError):
    """A site or id that cannot be a topic level, or a topic that is not one of ours."""


def _check(value: str, what: str) -> str:
    if not isinstance(value, str) or not _SEGMENT.match(value):
        raise TopicError(f"{what} {value!r} cannot be a topic segment (letters, digits, _ . : @ - only)")
    return value


#: The characters escaped in a call id's topic level, and the escape's lead (never in an id itself).
_UNSAFE = "."
_ESCAPE = "~"
_ESCAPED = re.compile(r"~([0-9A-F]{2})")


def escape(value: str) -> str:
    """``value`` (already checked to be a topic level) with each topic-unsafe character as ``~XX`` (hex)."""
    return "".join(f"{_ESCAPE}{ord(c):02X}" if c in _UNSAFE else c for c in value)


def unescape(level: str) -> str:
    """The value :func:`escape` made ``level`` of; TopicError for a stray ``~`` or an escape of a safe
    character (each value has exactly one written form)."""
    value = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), level)
    if escape(value) != level:
        raise TopicError(f"{level!r} is not an escaped topic level")
    return value


def _site(site: str) -> str:
    return f"{PREFIX}/{_check(site, 'site')}"


# -- topics ---------------------------------------------------------------------------------------
def call(site: str, call_id: str) -> str:
    return f"{_site(site)}/calls/{escape(_check(call_id, 'call id'))}"


def agent_events(site: str, agent_id: str) -> str:
    return f"{_site(site)}/agents/{_check(agent_id, 'agent id')}/events"


def agent_commands(site: str, agent_id: str) -> str:
    return f"{_site(site)}/agents/{_check(agent_id, 'agent id')}/commands"


def agent_day(site: str, agent_id: str) -> str:
    """The agent's figures of the day (calls handled, time busy and available), retained by the leading ACD."""
    return f"{_site(site)}/agents/{_check(agent_id, 'agent id')}/day"


def agent_presence(site: str, agent_id: str) -> str:
    """Whether the agent's desktop is connected (retained; offline as its last will)."""
    return f"{_site(site)}/agents/{_check(agent_id, 'agent id')}/presence"
def agent_workflows(site: str, agent_id: str) -> str:
    """Workflow changes (moves, escalations) of the orders and service requests ``agent_id`` took."""
    return f"{_site(site)}/agents/{_check(agent_id, 'agent id')}/workflows"


def queue_stats(site: str, queue: str) -> str:
    return f"{_site(site)}/queues/{_check(queue, 'queue')}/stats"


def cti_commands(site: str) -> str:
    return f"{_site(site)}/cti/commands"


def cti_results(site: str) -> str:
    """Results of CTI commands that name no agent (those that do are answered on the agent's events)."""
    return f"{_site(site)}/cti/results"


def cti_capabilities(site: str) -> str:
    """What the site's CTI link can do (retained)."""
    return f"{_site(site)}/cti/capabilities"


def presence(site: str, client_id: str) -> str:
    return f"{_site(site)}/presence/{_check(client_id, 'client id')}"


def acd_leader(site: str) -> str:
    """Which ACD leads the site (retained)."""
    return f"{_site(site)}/acd/leader"


def acd_state(site: str) -> str:
    """The leading ACD's routing state (retained); part 0 of a snapshot sent in several parts."""
    return f"{_site(site)}/acd/state"


def acd_explain(site: str) -> str:
    """Supervisors' requests for the ACD's explanation of an agent or a queue."""
    return f"{_site(site)}/acd/explain"


def acd_explanations(site: str) -> str:
    """The leading ACD's answers to explanation requests."""
    return f"{_site(site)}/acd/explanations"


def supervisor_actions(site: str, login: str) -> str:
    """A supervisor's actions: only that supervisor's broker identity may write here."""
    return f"{_site(site)}/supervisors/{_check(login, 'login')}/actions"


def supervisor_results(site: str, login: str) -> str:
    """What became of a supervisor's actions (written by the ACD, read by that supervisor)."""
    return f"{_site(site)}/supervisors/{_check(login, 'login')}/results"


def acd_state_part(site: str, part: int) -> str:
    """Part ``part`` (1, 2, ...) of the leading ACD's routing state (retained)."""
    return f"{_site(site)}/acd/state/{int(part)}"


def acd_state_parts(site: str) -> str:
    """Every part after the first of the leading ACD's routing state."""
    return f"{_site(site)}/acd/state/+"


# -- subscription filters -------------------------------------------------------------------------
def calls(site: str) -> str:
    """Every call's events."""
    return f"{_site(site)}/calls/+"


def all_agent_events(site: str) -> str:
    return f"{_site(site)}/agents/+/events"


def all_agent_days(site: str) -> str:
    return f"{_site(site)}/agents/+/day"


def all_agent_presence(site: str) -> str:
    return f"{_site(site)}/agents/+/presence"
def all_agent_workflows(site: str) -> str:
    return f"{_site(site)}/agents/+/workflows"


def all_agent_commands(site: str) -> str:
    return f"{_site(site)}/agents/+/commands"


def all_queue_stats(site: str) -> str:
    return f"{_site(site)}/queues/+/stats"


def all_supervisor_actions(site: str) -> str:
    return f"{_site(site)}/supervisors/+/actions"


def all_presence(site: str) -> str:
    return f"{_site(site)}/presence/+"


def everything(site: str) -> str:
    """Every topic of the site (tools and recordings)."""
    return f"{_site(site)}/#"


# -- parsing --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CallTopic:
    site: str
    call_id: str

    def __str__(self) -> str:
        return call(self.site, self.call_id)


@dataclass(frozen=True, slots=True)
class AgentEventsTopic:
    site: str
    agent_id: str

    def __str__(self) -> str:
        return agent_events(self.site, self.agent_id)


@dataclass(frozen=True, slots=True)
class AgentCommandsTopic:
    site: str
    agent_id: str

    def __str__(self) -> str:
        return agent_commands(self.site, self.agent_id)


@dataclass(frozen=True, slots=True)
class AgentPresenceTopic:
    site: str
    agent_id: str

    def __str__(self) -> str:
        return agent_presence(self.site, self.agent_id)


@dataclass(frozen=True, slots=True)
class QueueStatsTopic:
    site: str
    queue: str

    def __str__(self) -> str:
        return queue_stats(self.site, self.queue)


@dataclass(frozen=True, slots=True)
class CtiCommandsTopic:
    site: str

    def __str__(self) -> str:
        return cti_commands(self.site)


@dataclass(frozen=True, slots=True)
class CtiResultsTopic:
    site: str

    def __str__(self) -> str:
        return cti_results(self.site)


@dataclass(frozen=True, slots=True)
class CtiCapabilitiesTopic:
    site: str

    def __str__(self) -> str:
        return cti_capabilities(self.site)


@dataclass(frozen=True, slots=True)
class PresenceTopic:
    site: str
    client_id: str

    def __str__(self) -> str:
        return presence(self.site, self.client_id)


@dataclass(frozen=True, slots=True)
class AcdLeaderTopic:
    site: str

    def __str__(self) -> str:
        return acd_leader(self.site)


@dataclass(frozen=True, slots=True)
class AcdStateTopic:
    site: str

    def __str__(self) -> str:
        return acd_state(self.site)


@dataclass(frozen=True, slots=True)
class AcdExplainTopic:
    site: str

    def __str__(self) -> str:
        return acd_explain(self.site)


@dataclass(frozen=True, slots=True)
class AcdExplanationsTopic:
    site: str

    def __str__(self) -> str:
        return acd_explanations(self.site)


@dataclass(frozen=True, slots=True)
class AgentDayTopic:
    site: str
    agent_id: str

    def __str__(self) -> str:
        return agent_day(self.site, self.agent_id)


@dataclass(frozen=True, slots=True)
class AgentWorkflowsTopic:
    site: str
    agent_id: str

    def __str__(self) -> str:
        return agent_workflows(self.site, self.agent_id)


@dataclass(frozen=True, slots=True)
class SupervisorActionsTopic:
    site: str
    login: str

    def __str__(self) -> str:
        return supervisor_actions(self.site, self.login)


@dataclass(frozen=True, slots=True)
class SupervisorResultsTopic:
    site: str
    login: str

    def __str__(self) -> str:
        return supervisor_results(self.site, self.login)


Topic = (
    CallTopic
    | AgentEventsTopic
    | AgentCommandsTopic
    | QueueStatsTopic
    | CtiCommandsTopic
    | CtiResultsTopic
    | CtiCapabilitiesTopic
    | PresenceTopic
    | AcdLeaderTopic
    | AcdStateTopic
    | AcdExplainTopic
    | AcdExplanationsTopic
    | SupervisorActionsTopic
    | SupervisorResultsTopic
    | AgentDayTopic
    | AgentPresenceTopic
    | AgentWorkflowsTopic
)

_FIXED: dict[tuple[str, str], Callable[[str], Topic]] = {
    ("cti", "commands"): CtiCommandsTopic,
    ("cti", "results"): CtiResultsTopic,
    ("cti", "capabilities"): CtiCapabilitiesTopic,
    ("acd", "leader"): AcdLeaderTopic,
    ("acd", "state"): AcdStateTopic,
    ("acd", "explain"): AcdExplainTopic,
    ("acd", "explanations"): AcdExplanationsTopic,
}


def parse(topic: str) -> Topic:
    """What ``topic`` addresses; raises TopicError for a topic that is not of this scheme.

    Filters (``+``, ``#``) are not topics and are refused too.
    """
    if not isinstance(topic, str):
        raise TopicError(f"a topic is a string, not {type(topic).__name__}")
    head = PREFIX + "/"
    if not topic.startswith(head):
        raise TopicError(f"not a ccenter topic (expected {PREFIX}/<site>/...): {topic!r}")
    parts = topic[len(head):].split("/")
    site = parts[0]
    try:
        _check(site, "site")
        match parts[1:]:
            case ["calls", call_id]:
                return CallTopic(site, _check(unescape(call_id), "call id"))
            case ["agents", agent_id, "events"]:
                return AgentEventsTopic(site, _check(agent_id, "agent id"))
            case ["agents", agent_id, "commands"]:
                return AgentCommandsTopic(site, _check(agent_id, "agent id"))
            case ["agents", agent_id, "day"]:
                return AgentDayTopic(site, _check(agent_id, "agent id"))
            case ["agents", agent_id, "presence"]:
                return AgentPresenceTopic(site, _check(agent_id, "agent id"))
            case ["agents", agent_id, "workflows"]:
                return AgentWorkflowsTopic(site, _check(agent_id, "agent id"))
            case ["queues", queue, "stats"]:
                return QueueStatsTopic(site, _check(queue, "queue"))
            case ["supervisors", login, "actions"]:
                return SupervisorActionsTopic(site, _check(login, "login"))
            case ["supervisors", login, "results"]:
                return SupervisorResultsTopic(site, _check(login, "login"))
            case ["presence", client_id]:
                return PresenceTopic(site, _check(client_id, "client id"))
            case [area, leaf] if (area, leaf) in _FIXED:
                return _FIXED[area, leaf](site)
    except TopicError as exc:
        raise TopicError(f"malformed topic {topic!r}: {exc}") from None
    raise TopicError(f"unknown topic {topic!r}")


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
