"""The ACD's snapshot in parts: split under a byte budget, put back together whatever the order."""

from __future__ import annotations

import logging

import pytest

from bus.messages import AcdSnapshot, decode, encode
from routing.leadership import SnapshotAssembler, split_snapshot


def snapshot(calls: int, *, seq: int = 1, epoch: int = 1) -> AcdSnapshot:
    return AcdSnapshot(
        client_id="acd-1", epoch=epoch, seq=seq, ts=1.0,
        calls=[{"call_id": f"c{n}", "queue": "sales", "arrived": float(n), "status": "queued"} for n in range(calls)],
        agents=[{"agent_id": f"a{n}", "status": "ready"} for n in range(50)],
        ended=[f"e{n}" for n in range(20)],
        stats={"totals": {"sales": {"offered": calls, "answered": 3}}, "by_priority": []},
    )


def test_a_small_snapshot_is_one_part() -> None:
    whole = snapshot(10)
    assert split_snapshot(whole) == [whole]


def test_a_large_snapshot_is_cut_under_the_budget_and_assembled_in_any_order() -> None:
    whole = snapshot(20_000)
    parts = split_snapshot(whole)
    assert len(parts) > 1 and all(p.parts == len(parts) for p in parts)
    assert [p.part for p in parts] == list(range(len(parts)))
    assert all(len(encode(p)) < 200 * 1024 for p in parts), "each part fits in one bus message"
    assert parts[0].stats == whole.stats and all(not p.stats for p in parts[1:])
    assembler = SnapshotAssembler()
    got = [assembler.add(decode(encode(p))) for p in reversed(parts)]  # type: ignore[arg-type]
    assert got[:-1] == [None] * (len(parts) - 1)
    assert got[-1] == whole


def test_parts_of_an_older_snapshot_are_dropped_and_a_newer_one_replaces_a_partial_one() -> None:
    old, new = split_snapshot(snapshot(20_000, seq=1)), split_snapshot(snapshot(15_000, seq=2))
    assembler = SnapshotAssembler()
    assert assembler.add(old[0]) is None
    for part in new[:-1]:
        assert assembler.add(part) is None
    assert assembler.add(old[-1]) is None  # a late part of seq 1 does not mix in
    whole = assembler.add(new[-1])
    assert whole is not None and whole.seq == 2 and len(whole.calls) == 15_000
    assert all(assembler.add(p) is None for p in old), "nothing older than what we have"


@pytest.mark.expect_log(logging.WARNING, "routing.leadership", match=r"^ACD snapshot part 5 of 2 skipped")
def test_a_part_out_of_range_is_skipped() -> None:
    bad = AcdSnapshot(client_id="x", epoch=1, seq=1, ts=0.0, part=5, parts=2)
    assert SnapshotAssembler().add(bad) is None
