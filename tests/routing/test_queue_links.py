"""A queue that overflows to itself, or whose fallback queues come back round, is refused."""

from __future__ import annotations

import pytest

from routing.acd_config import parse_acd_config
from routing.errors import ScenarioError

AGENTS = [{"id": "a1", "skills": {"sales": 5}}]


def test_overflow_to_itself_is_refused() -> None:
    body = {"queues": [{"name": "sales", "overflow_after_s": 30, "overflow_to": ["sales"]}], "agents": AGENTS}
    with pytest.raises(ScenarioError, match=r"queues.sales.overflow_to.*cannot overflow to itself"):
        parse_acd_config(body)


@pytest.mark.parametrize(
    ("links", "loop"),
    [
        ({"sales": "sales"}, "sales -> sales"),
        ({"sales": "billing", "billing": "sales"}, "sales -> billing -> sales"),
        ({"sales": "billing", "billing": "support", "support": "billing"}, "billing -> support -> billing"),
    ],
)
def test_fallback_loops_are_refused(links: dict[str, str], loop: str) -> None:
    queues = [
        {"name": name, "max_wait_s": 60, "fallback": "overflow_queue", "fallback_queue": target}
        for name, target in links.items()
    ]
    queues += [{"name": n} for n in {"billing", "support"} - set(links)]
    with pytest.raises(ScenarioError, match=f"fallback queues loop: {loop}"):
        parse_acd_config({"queues": queues, "agents": AGENTS})


def test_a_chain_of_fallbacks_and_mutual_overflow_are_fine() -> None:
    config = parse_acd_config({
        "queues": [
            {"name": "sales", "max_wait_s": 60, "fallback": "overflow_queue", "fallback_queue": "billing",
             "overflow_after_s": 20, "overflow_to": ["billing"]},
            {"name": "billing", "max_wait_s": 60, "fallback": "overflow_queue", "fallback_queue": "support",
             "overflow_after_s": 20, "overflow_to": ["sales"]},
            {"name": "support"},
        ],
        "agents": AGENTS,
    })
    assert [q.name for q in config.queues] == ["sales", "billing", "support"]
