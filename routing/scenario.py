"""Simulation scenarios: parsed from YAML, validated, every refusal naming the key and the reason.

Format (DESIGN.md, extended)::

    duration_hours: 100          # simulated time
    warmup_hours: 1              # optional: statistics start after it
    queues:
      - name: sales
        arrivals_per_hour: 360   # or a list of hourly rates, cycled (e.g. 24 values: a daily profile)
        handle_time: {distribution: exponential, mean_s: 180}   # exponential | constant | lognormal (sd_s)
        patience: {distribution: exponential, mean_s: 120}      # optional: absent means callers wait
        service_level_s: 20
        priority_mix: {0: 0.9, 5: 0.1}                          # optional: share of calls per priority
        # any QueueConfig routing field: skill, min_proficiency, wrap_up_s, agent_selection,
        # aging_per_minute, relax_after_s, relaxed_min_proficiency, overflow_after_s, overflow_to,
        # max_wait_s, fallback (voicemail|callback|overflow_queue), fallback_queue, short_abandon_s
    agents:
      - count: 20
        skills: {sales: 5}
    campaigns:                   # optional: outbound campaigns dialled into a queue by the real Pacer
      - name: spring
        queue: sales             # the queue (and so the agents) that takes the connected calls
        dial_mode: predictive    # progressive | predictive
        list_size: 20000         # customers to call (each dialled once)
        connect_rate: 0.3        # share of dials a person answers
        answering_machine_rate: 0.1
        abandon_target: 0.03     # the pacer keeps abandonment under it
        abandon_after_s: 2       # an answered call without an agent by then is abandoned
        ring_time_s: 15          # time from dial to outcome (constant)
        handle_time: {distribution: exponential, mean_s: 120}  # optional: the queue's otherwise
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .acd_config import check_queue_links
from .errors import ScenarioError
from .model import AgentSelection, FallbackAction, QueueConfig


@dataclass(frozen=True, slots=True)
class Distribution:
    kind: str  # exponential | constant | lognormal
    mean_s: float
    sd_s: float = 0.0


@dataclass(frozen=True, slots=True)
class QueueScenario:
    config: QueueConfig
    arrivals_per_hour: tuple[float, ...]  # one rate, or hourly rates cycled
    handle_time: Distribution
    patience: Distribution | None
    priority_mix: tuple[tuple[int, float], ...]  # (priority, cumulative share)


@dataclass(frozen=True, slots=True)
class AgentGroup:
    name: str
    count: int
    skills: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class CampaignScenario:
    """An outbound campaign of a scenario (progressive or predictive)."""

    name: str
    queue: str
    dial_mode: str  # progressive | predictive
    list_size: int
    connect_rate: float
    answering_machine_rate: float = 0.0
    abandon_target: float = 0.03
    abandon_after_s: float = 2.0
    ring_time_s: float = 15.0
    handle_time: Distribution | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    duration_hours: float
    warmup_hours: float
    queues: tuple[QueueScenario, ...]
    agents: tuple[AgentGroup, ...]
    campaigns: tuple[CampaignScenario, ...] = ()


_QUEUE_KEYS = {
    "name", "arrivals_per_hour", "handle_time", "patience", "service_level_s", "priority_mix", "skill",
    "min_proficiency", "sl_target", "wrap_up_s", "ring_timeout_s", "short_abandon_s", "agent_selection",
    "aging_per_minute", "relax_after_s", "relaxed_min_proficiency", "overflow_after_s", "overflow_to",
    "max_wait_s", "fallback", "fallback_queue", "priority",
}  # fmt: skip


def load_scenario(path: str | Path) -> Scenario:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), f"cannot read the scenario: {exc.strerror}") from None
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), f"not valid YAML: {exc}".replace("\n", " ")) from None
    return parse_scenario(body)


def _number(value: Any, key: str, *, positive: bool = False, minimum: float | None = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(key, f"must be a number, got {value!r}")
    if positive and value <= 0:
        raise ScenarioError(key, f"must be positive, got {value}")
    if minimum is not None and value < minimum:
        raise ScenarioError(key, f"must be {minimum} or more, got {value}")
    return float(value)


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(key, f"must be a mapping, got {type(value).__name__}")
    return value


def _distribution(value: Any, key: str) -> Distribution:
    body = _mapping(value, key)
    kind = body.get("distribution", "exponential")
    if kind not in ("exponential", "constant", "lognormal"):
        raise ScenarioError(f"{key}.distribution", f"must be exponential, constant or lognormal, got {kind!r}")
    if "mean_s" not in body:
        raise ScenarioError(f"{key}.mean_s", "is required")
    mean = _number(body["mean_s"], f"{key}.mean_s", positive=True)
    sd = 0.0
    if kind == "lognormal":
        if "sd_s" not in body:
            raise ScenarioError(f"{key}.sd_s", "is required for a lognormal distribution")
        sd = _number(body["sd_s"], f"{key}.sd_s", positive=True)
    unknown = set(body) - {"distribution", "mean_s", "sd_s"}
    if unknown:
        raise ScenarioError(f"{key}.{sorted(unknown)[0]}", "unknown key")
    return Distribution(kind, mean, sd)


def _queue(value: Any, index: int) -> QueueScenario:
    body = _mapping(value, f"queues[{index}]")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"queues[{index}].name", "is required (a non-empty string)")
    key = f"queues.{name}"
    unknown = set(body) - _QUEUE_KEYS
    if unknown:
        raise ScenarioError(f"{key}.{sorted(unknown)[0]}", "unknown key")
    if "arrivals_per_hour" not in body:
        raise ScenarioError(f"{key}.arrivals_per_hour", "is required")
    raw = body["arrivals_per_hour"]
    if isinstance(raw, list):
        if not raw:
            raise ScenarioError(f"{key}.arrivals_per_hour", "an hourly profile needs at least one rate")
        rates = tuple(_number(r, f"{key}.arrivals_per_hour[{i}]") for i, r in enumerate(raw))
        if not any(rates):
            raise ScenarioError(f"{key}.arrivals_per_hour", "all hourly rates are 0")
    else:
        # 0: a queue for outbound calls only
        outbound_only = raw == 0 and not isinstance(raw, bool)
        rates = (0.0,) if outbound_only else (_number(raw, f"{key}.arrivals_per_hour", positive=True),)
    if "handle_time" not in body:
        raise ScenarioError(f"{key}.handle_time", "is required")
    handle = _distribution(body["handle_time"], f"{key}.handle_time")
    patience = _distribution(body["patience"], f"{key}.patience") if body.get("patience") is not None else None
    mix_raw = body.get("priority_mix", {0: 1.0})
    mix = _mapping(mix_raw, f"{key}.priority_mix")
    cumulative: list[tuple[int, float]] = []
    total = 0.0
    for prio, share in mix.items():
        try:
            p = int(prio)
        except (TypeError, ValueError):
            raise ScenarioError(f"{key}.priority_mix", f"priority {prio!r} is not an integer") from None
        total += _number(share, f"{key}.priority_mix.{prio}")
        cumulative.append((p, total))
    if total <= 0:
        raise ScenarioError(f"{key}.priority_mix", "shares must add up to more than 0")
    cumulative = [(p, c / total) for p, c in cumulative]
    routing: dict[str, Any] = {}
    for field_name in (
        "skill", "min_proficiency", "sl_target", "wrap_up_s", "ring_timeout_s", "short_abandon_s",
        "aging_per_minute", "relax_after_s", "relaxed_min_proficiency", "overflow_after_s", "max_wait_s",
        "fallback_queue",
    ):  # fmt: skip
        if field_name in body:
            routing[field_name] = body[field_name]
    for field_name in ("min_proficiency", "relaxed_min_proficiency"):
        if field_name in routing and (
            isinstance(routing[field_name], bool) or not isinstance(routing[field_name], int)
        ):
            raise ScenarioError(f"{key}.{field_name}", f"must be an integer 1..10, got {routing[field_name]!r}")
    for field_name in ("sl_target", "wrap_up_s", "ring_timeout_s", "short_abandon_s", "aging_per_minute",
                       "relax_after_s", "overflow_after_s", "max_wait_s"):  # fmt: skip
        if field_name in routing and routing[field_name] is not None:
            routing[field_name] = _number(routing[field_name], f"{key}.{field_name}", minimum=None)
    if "service_level_s" in body:
        routing["sl_seconds"] = _number(body["service_level_s"], f"{key}.service_level_s")
    if "agent_selection" in body:
        try:
            routing["agent_selection"] = AgentSelection(body["agent_selection"])
        except ValueError:
            choices = ", ".join(s.value for s in AgentSelection)
            raise ScenarioError(f"{key}.agent_selection", f"must be one of {choices}") from None
    if "fallback" in body:
        try:
            routing["fallback"] = FallbackAction(body["fallback"])
        except ValueError:
            choices = ", ".join(s.value for s in FallbackAction)
            raise ScenarioError(f"{key}.fallback", f"must be one of {choices}") from None
    if "overflow_to" in body:
        targets = body["overflow_to"]
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ScenarioError(f"{key}.overflow_to", "must be a queue name or a list of them")
        routing["overflow_to"] = tuple(targets)
    if "priority" in body:
        if isinstance(body["priority"], bool) or not isinstance(body["priority"], int):
            raise ScenarioError(f"{key}.priority", f"must be an integer, got {body['priority']!r}")
        routing["priority"] = body["priority"]
    if "skill" in routing and not isinstance(routing["skill"], str):
        raise ScenarioError(f"{key}.skill", "must be a skill name")
    config = QueueConfig(name=name, **routing)
    return QueueScenario(config, rates, handle, patience, tuple(cumulative))


def _agents(value: Any, index: int) -> AgentGroup:
    key = f"agents[{index}]"
    body = _mapping(value, key)
    unknown = set(body) - {"count", "skills", "name"}
    if unknown:
        raise ScenarioError(f"{key}.{sorted(unknown)[0]}", "unknown key")
    count = body.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ScenarioError(f"{key}.count", f"must be a positive integer, got {count!r}")
    skills = _mapping(body.get("skills"), f"{key}.skills")
    if not skills:
        raise ScenarioError(f"{key}.skills", "an agent needs at least one skill")
    for skill, level in skills.items():
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
            raise ScenarioError(f"{key}.skills.{skill}", f"proficiency must be an integer 1..10, got {level!r}")
    name = str(body.get("name", f"g{index}"))
    return AgentGroup(name, count, {str(s): int(v) for s, v in skills.items()})


_CAMPAIGN_KEYS = {
    "name", "queue", "dial_mode", "list_size", "connect_rate", "answering_machine_rate", "abandon_target",
    "abandon_after_s", "ring_time_s", "handle_time",
}  # fmt: skip


def _campaign(value: Any, index: int, queues: set[str]) -> CampaignScenario:
    body = _mapping(value, f"campaigns[{index}]")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"campaigns[{index}].name", "is required (a non-empty string)")
    key = f"campaigns.{name}"
    unknown = set(body) - _CAMPAIGN_KEYS
    if unknown:
        raise ScenarioError(f"{key}.{sorted(unknown)[0]}", "unknown key")
    queue = body.get("queue")
    if queue not in queues:
        raise ScenarioError(f"{key}.queue", f"must name a queue of the scenario, got {queue!r}")
    mode = body.get("dial_mode", "predictive")
    if mode not in ("progressive", "predictive"):
        raise ScenarioError(f"{key}.dial_mode", f"must be progressive or predictive, got {mode!r}")
    size = body.get("list_size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ScenarioError(f"{key}.list_size", f"must be a positive integer, got {size!r}")
    if "connect_rate" not in body:
        raise ScenarioError(f"{key}.connect_rate", "is required")
    connect = _number(body["connect_rate"], f"{key}.connect_rate", positive=True)
    machine = _number(body.get("answering_machine_rate", 0.0), f"{key}.answering_machine_rate")
    if connect + machine > 1:
        raise ScenarioError(f"{key}.connect_rate", "connect_rate + answering_machine_rate must be at most 1")
    target = _number(body.get("abandon_target", 0.03), f"{key}.abandon_target", positive=True)
    if target >= 1:
        raise ScenarioError(f"{key}.abandon_target", f"must be below 1, got {target}")
    handle = _distribution(body["handle_time"], f"{key}.handle_time") if body.get("handle_time") else None
    return CampaignScenario(
        name, str(queue), str(mode), size, connect, machine, target,
        _number(body.get("abandon_after_s", 2.0), f"{key}.abandon_after_s", positive=True),
        _number(body.get("ring_time_s", 15.0), f"{key}.ring_time_s", positive=True),
        handle,
    )


def parse_scenario(body: Any) -> Scenario:
    top = _mapping(body, "scenario")
    unknown = set(top) - {"duration_hours", "warmup_hours", "queues", "agents", "campaigns"}
    if unknown:
        raise ScenarioError(sorted(unknown)[0], "unknown key")
    if "duration_hours" not in top:
        raise ScenarioError("duration_hours", "is required")
    duration = _number(top["duration_hours"], "duration_hours", positive=True)
    warmup = _number(top.get("warmup_hours", 0), "warmup_hours")
    if warmup >= duration:
        raise ScenarioError("warmup_hours", f"must be shorter than duration_hours ({duration})")
    queues_raw = top.get("queues")
    if not isinstance(queues_raw, list) or not queues_raw:
        raise ScenarioError("queues", "must be a non-empty list")
    agents_raw = top.get("agents")
    if not isinstance(agents_raw, list) or not agents_raw:
        raise ScenarioError("agents", "must be a non-empty list")
    queues = tuple(_queue(q, i) for i, q in enumerate(queues_raw))
    names = [q.config.name for q in queues]
    for name in names:
        if names.count(name) > 1:
            raise ScenarioError(f"queues.{name}", "queue defined twice")
    for q in queues:
        for target in (*q.config.overflow_to, *((q.config.fallback_queue,) if q.config.fallback_queue else ())):
            if target not in names:
                raise ScenarioError(f"queues.{q.config.name}", f"names unknown queue {target!r}")
    check_queue_links([q.config for q in queues])  # a loop would move a call round for ever
    agents = tuple(_agents(a, i) for i, a in enumerate(agents_raw))
    skills = {s for group in agents for s in group.skills}
    for q in queues:
        if q.config.skill not in skills:
            raise ScenarioError(
                f"queues.{q.config.name}.skill", f"no agent has skill {q.config.skill!r}: calls could never be answered"
            )
    campaigns_raw = top.get("campaigns") or []
    if not isinstance(campaigns_raw, list):
        raise ScenarioError("campaigns", "must be a list")
    campaigns = tuple(_campaign(c, i, set(names)) for i, c in enumerate(campaigns_raw))
    campaign_names = [c.name for c in campaigns]
    for name in campaign_names:
        if campaign_names.count(name) > 1:
            raise ScenarioError(f"campaigns.{name}", "campaign defined twice")
    return Scenario(duration, warmup, queues, agents, campaigns)
