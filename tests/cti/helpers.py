"""Helpers shared by the CTI tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cti"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given positions (sorted, clipped to the data)."""
    points = sorted({min(max(c, 0), len(data)) for c in cuts})
    out, prev = [], 0
    for p in [*points, len(data)]:
        out.append(data[prev:p])
        prev = p
    return [c for c in out if c]
