"""The routing benchmark keeps working (tiny sizes; the figures themselves come from ``python -m bench``)."""

from __future__ import annotations

from bench.routing import _busy_center, _idle_center


def test_busy_center_benchmark_makes_a_decision_per_freed_agent() -> None:
    rate, latencies = _busy_center(agents=50, skills=5, waiting=300, measured=200, seed=3)
    assert len(latencies) == 200
    assert rate > 0


def test_idle_center_benchmark_offers_every_call() -> None:
    rate, latencies = _idle_center(agents=50, skills=5, measured=100, seed=3)
    assert len(latencies) == 100 and rate > 0
