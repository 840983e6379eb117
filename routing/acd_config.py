"""The ACD's configuration: queues and the agents' skills and extensions (file, TOML table or database).

:func:`parse_acd_config` reads ``{queues: [...], agents: [...]}`` (a scenario file is also a
configuration), :func:`load_acd_config` a YAML file or the ``[acd]`` table of a TOML file, and
:func:`acd_config_from_db` the data model (through :mod:`crm.acd_data`, so nothing here touches the ORM).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from .engine import AcdEngine
from .errors import ScenarioError
from .model import AgentSelection, FallbackAction, QueueConfig


@dataclass(frozen=True, slots=True)
class AgentProfile:
    skills: Mapping[str, int]
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class AcdConfig:
    """Queues and the agents' skills (and extensions) the server routes with."""

    queues: tuple[QueueConfig, ...]
    agents: Mapping[str, AgentProfile] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "queues": [_queue_dict(q) for q in self.queues],
            "agents": [
                {"id": a, "skills": dict(p.skills), **({"extension": p.extension} if p.extension else {})}
                for a, p in self.agents.items()
            ],
        }


def _queue_dict(q: QueueConfig) -> dict[str, Any]:
    body: dict[str, Any] = {"name": q.name}
    default = QueueConfig(name=q.name)
    for name in q.__dataclass_fields__:
        value = getattr(q, name)
        if name == "name" or value == getattr(default, name):
            continue
        key = "service_level_s" if name == "sl_seconds" else name
        body[key] = value.value if isinstance(value, Enum) else list(value) if isinstance(value, tuple) else value
    return body


def parse_acd_config(body: Any, source: str = "config") -> AcdConfig:
    """Parse ``{queues: [...], agents: [...]}``; refusals name the key and the reason.

    Queues take the routing keys of a scenario queue (``skill``, ``service_level_s``, ``wrap_up_s``,
    ``ring_timeout_s``, ``agent_selection``, ``aging_per_minute``, ``overflow_to``...; the traffic keys
    of a scenario are accepted and ignored, so a scenario file is also a configuration). Agents are
    ``{id, skills, extension}`` or a scenario group ``{count, skills, name}`` (ids ``<name>-<n>``).
    """
    from .scenario import _queue  # the scenario's validation, shared

    if not isinstance(body, Mapping):
        raise ScenarioError(source, "an ACD configuration is a mapping with 'queues' and 'agents'")
    unknown = set(body) - {"queues", "agents", "duration_hours", "warmup_hours"}
    if unknown:
        raise ScenarioError(sorted(unknown)[0], "unknown key")
    raw_queues = body.get("queues")
    if not isinstance(raw_queues, list) or not raw_queues:
        raise ScenarioError("queues", "must be a non-empty list")
    queues: list[QueueConfig] = []
    for i, raw in enumerate(raw_queues):
        if not isinstance(raw, Mapping):
            raise ScenarioError(f"queues[{i}]", "must be a mapping")
        filled = {"arrivals_per_hour": 1.0, "handle_time": {"mean_s": 1.0}, **raw}
        queues.append(_queue(filled, i).config)
    AcdEngine(queues)  # refuses duplicate and unknown overflow queues with the key
    check_queue_links(queues)
    agents: dict[str, AgentProfile] = {}
    for i, raw in enumerate(body.get("agents") or []):
        key = f"agents[{i}]"
        if not isinstance(raw, Mapping):
            raise ScenarioError(key, "must be a mapping")
        unknown = set(raw) - {"id", "skills", "extension", "count", "name"}
        if unknown:
            raise ScenarioError(f"{key}.{sorted(unknown)[0]}", "unknown key")
        skills = raw.get("skills")
        if not isinstance(skills, Mapping) or not skills:
            raise ScenarioError(f"{key}.skills", "an agent needs at least one skill")
        for skill, level in skills.items():
            if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
                raise ScenarioError(f"{key}.skills.{skill}", f"proficiency must be an integer 1..10, got {level!r}")
        profile = AgentProfile({str(s): int(v) for s, v in skills.items()}, _text(raw.get("extension"), key))
        if "id" in raw:
            agents[str(raw["id"])] = profile
        else:
            count = raw.get("count")
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ScenarioError(f"{key}.id", "give an agent id, or a count for a group")
            name = str(raw.get("name", f"g{i}"))
            for n in range(count):
                agents[f"{name}-{n + 1}"] = replace(profile, extension=None)
    return AcdConfig(tuple(queues), agents)


def check_queue_links(queues: tuple[QueueConfig, ...] | list[QueueConfig]) -> None:
    """Refuse a queue that overflows to itself, or whose fallback queue leads back to it.

    A fallback queue takes the call over (it is offered there again), so a chain of fallbacks that
    comes back would move a call round for ever and count it as offered at every turn.
    """
    fallback = {q.name: q.fallback_queue for q in queues if q.fallback_queue}
    for q in queues:
        if q.name in q.overflow_to:
            raise ScenarioError(f"queues.{q.name}.overflow_to", "a queue cannot overflow to itself")
        seen = [q.name]
        target = fallback.get(q.name)
        while target is not None:
            if target in seen:
                loop = " -> ".join([*seen[seen.index(target):], target])
                raise ScenarioError(f"queues.{q.name}.fallback_queue", f"fallback queues loop: {loop}")
            seen.append(target)
            target = fallback.get(target)


def _text(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ScenarioError(f"{key}.extension", "must be text")
    return str(value)


def load_acd_config(path: str | Path) -> AcdConfig:
    """An ACD configuration from a YAML file, or from the ``[acd]`` table of a TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), f"cannot read the ACD configuration: {exc.strerror}") from None
    if path.suffix == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(str(path), f"not valid TOML: {exc}") from None
        body = doc.get("acd", doc)
        if isinstance(body, Mapping) and "queues_file" in body:
            return load_acd_config(path.parent / str(body["queues_file"]))
        return parse_acd_config(body, str(path))
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), f"not valid YAML: {exc}".replace("\n", " ")) from None
    return parse_acd_config(body, str(path))


def queue_config_from_row(q: Any) -> QueueConfig:
    """A queue of the database (``crm.acd_data.RoutingQueue``) as the engine's configuration; a queue
    named ``vip`` without a selection rule picks the most skilled agent."""
    key = f"queues.{q.name}"
    selection = q.agent_selection or ("most_skilled" if q.name == "vip" else "longest_idle")
    try:
        agent_selection = AgentSelection(selection)
    except ValueError:
        choices = ", ".join(s.value for s in AgentSelection)
        raise ScenarioError(f"{key}.agent_selection", f"must be one of {choices}") from None
    try:
        fallback = FallbackAction(q.fallback) if q.fallback else None
    except ValueError:
        choices = ", ".join(s.value for s in FallbackAction)
        raise ScenarioError(f"{key}.fallback", f"must be one of {choices}") from None
    return QueueConfig(
        name=q.name,
        skill=q.skill,
        sl_seconds=q.service_level_seconds,
        sl_target=q.service_level_target,
        wrap_up_s=q.wrap_up_seconds,
        agent_selection=agent_selection,
        priority=q.priority,
        aging_per_minute=q.aging_per_minute,
        overflow_after_s=q.overflow_after_seconds,
        overflow_to=tuple(q.overflow_to),
        max_wait_s=q.max_wait_seconds,
        fallback=fallback,
        fallback_queue=q.fallback_queue,
    )


def acd_config_from_db(session: Any, site: str = "main") -> AcdConfig:
    """``site``'s queues (with their skill, service level and wrap-up) and active agents from the data
    model; another site's rows in the same database are not seen."""
    from crm.acd_data import routing_agents, routing_queues

    queues = tuple(queue_config_from_row(q) for q in routing_queues(session, site))
    if not queues:
        raise ScenarioError("queues", f"the database holds no queue of site {site!r}: nothing to route")
    AcdEngine(list(queues))  # refuses overflow to an unknown queue with its key
    check_queue_links(queues)
    agents = {a.login: AgentProfile(dict(a.skills), a.extension) for a in routing_agents(session, site)}
    return AcdConfig(queues, agents)
