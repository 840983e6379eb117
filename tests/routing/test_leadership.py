"""The ACD election without a bus: leader records and presences in, times as values, actions out."""

from __future__ import annotations

import logging

import pytest

from bus.messages import AcdLeader
from routing.leadership import Election, PublishLeader, Role, StepDown, TakeOver


def test_a_standby_without_a_leader_claims_after_settling_and_leads_after_the_claim_time() -> None:
    e = Election("acd-b", "hq", settle_s=0.5, claim_s=0.3)
    e.stand_by(mono=10.0)
    assert e.consider(10.4, 100.0, connected=True) is None  # still settling: retained records may come
    claim = e.consider(10.5, 100.0, connected=True)
    assert isinstance(claim, PublishLeader) and (claim.record.client_id, claim.record.epoch) == ("acd-b", 1)
    assert e.role is Role.CANDIDATE
    e.on_leader(claim.record, 100.1)  # our own claim comes back from the broker
    assert e.consider(10.7, 100.2, connected=True) is None
    assert isinstance(e.consider(10.8, 100.3, connected=True), TakeOver)


def test_a_live_leader_is_followed_and_its_offline_presence_starts_a_claim_of_the_next_epoch() -> None:
    e = Election("acd-b", "hq", settle_s=0.0)
    e.stand_by(mono=0.0)
    e.on_presence("acd-a", True)
    assert e.on_leader(AcdLeader(client_id="acd-a", epoch=4, ts=1.0), 1.0) == []
    assert e.consider(1.0, 1.0, connected=True) is None
    assert e.consider(1.0, 1.0, connected=False) is None
    e.on_presence("acd-a", False)
    e.on_presence("acd-a", True)  # back, but its link broke: its state may be stale
    claim = e.consider(2.0, 2.0, connected=True)
    assert isinstance(claim, PublishLeader) and claim.record.epoch == 5


@pytest.mark.expect_log(logging.WARNING, "routing.leadership", match=r"^ACD acd-b stands down \(epoch 3\)")
def test_a_leader_reasserts_against_a_lower_claim_and_stands_down_for_a_higher_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    e = Election("acd-b", "hq")
    e.lead(3)
    [again] = e.on_leader(AcdLeader(client_id="acd-a", epoch=2, ts=5.0), 5.0)
    assert isinstance(again, PublishLeader) and (again.record.client_id, again.record.epoch) == ("acd-b", 3)
    [down] = e.on_leader(AcdLeader(client_id="acd-c", epoch=4, ts=6.0), 6.0)
    assert down == StepDown("acd-c leads with epoch 4", hold_off=False)
    assert e.step_down(down.reason, 6.0, hold_off=down.hold_off) and e.role is Role.STANDBY
    assert not e.step_down("again", 6.0)  # nothing to stand down from
    assert e.leader is not None and e.leader.client_id == "acd-c"
    assert "ACD acd-b stands down (epoch 3): acd-c leads with epoch 4" in caplog.text


@pytest.mark.expect_log(logging.WARNING, "routing.leadership", match=r"^ACD acd-a stands down \(epoch 1\)")
def test_a_late_echo_of_a_lost_claim_does_not_start_another_claim() -> None:
    """Two standbys claim at once; the loser stands down, then its own claim comes back from the broker: it
    follows the winner (alive) and claims nothing, instead of taking the echo for an offline leader."""
    e = Election("acd-a", "hq", settle_s=0.0, claim_s=0.3)
    e.stand_by(mono=0.0)
    e.on_presence("acd-b", True)
    mine = e.consider(0.0, 1.0, connected=True)
    assert isinstance(mine, PublishLeader) and mine.record.epoch == 1
    [down] = e.on_leader(AcdLeader(client_id="acd-b", epoch=1, ts=1.0), 1.0)
    assert isinstance(down, StepDown)
    assert e.step_down(down.reason, 0.1, hold_off=down.hold_off)
    assert e.on_leader(mine.record, 1.1) == []  # the echo of our own, losing, claim
    assert e.leader is not None and e.leader.client_id == "acd-b"
    assert e.consider(0.2, 1.2, connected=True) is None
