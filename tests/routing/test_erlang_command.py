"""``ccenter erlang`` as documented in DESIGN.md."""

from __future__ import annotations

import json

import pytest

from ccenter.cli import main


def test_erlang_command_prints_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["erlang", "--arrivals-per-hour", "200", "--aht", "180", "--agents", "14", "--target-sl", "0.8"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["traffic_erlangs"] == pytest.approx(10.0)
    assert out["p_wait"] == pytest.approx(0.1741, abs=1e-4)
    assert out["service_level"] == pytest.approx(0.8884, abs=1e-4)
    assert out["asa_s"] == pytest.approx(7.84, abs=0.01)
    assert out["occupancy"] == pytest.approx(0.7143, abs=1e-4)
    assert out["agents_required"] == 14
    assert "abandon_rate" not in out


def test_erlang_command_with_patience_adds_abandon_rate(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["erlang", "--arrivals-per-hour", "200", "--aht", "180", "--agents", "10", "--patience", "120"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 < out["abandon_rate"] < 0.5
    assert out["model"] == "erlang_a"


def test_unstable_erlang_c_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["erlang", "--arrivals-per-hour", "200", "--aht", "180", "--agents", "10"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ccenter: error: unstable queue")
    assert err.count("\n") == 1
