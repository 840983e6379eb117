from __future__ import annotations

import io
import json
import sys
from types import SimpleNamespace

import pytest

from ccenter.cli import main

from .helpers import FIXTURES, fixture_bytes


def test_decode_ami_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cti", "decode", "--protocol", "ami", str(FIXTURES / "ami_inbound_queue.ami")]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert err == ""
    assert rows[2] == {
        "type": "call.offered",
        "v": 1,
        "call_id": "1700000010.17",
        "ts": 1700000010.0001,
        "calling": "+14155550100",
        "called": "8005550199",
        "agent_id": None,
        "extension": "carrier",
        "queue": None,
        "cause": None,
        "data": {},
        "calling_name": "ACME Corp",
    }
    assert [r["type"] for r in rows].count("call.ended") == 1
    assert rows[-1]["type"] == "call.ended"


def test_decode_ami_stdin_reports_malformed_frames_and_exits_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(fixture_bytes("ami_garbage.ami"))))
    assert main(["cti", "decode", "--protocol", "ami"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["type"] for line in out.splitlines()] == ["call.offered", "call.ended"]
    err_lines = err.splitlines()
    assert err_lines[0] == "offset 28 (1 bytes): invalid UTF-8 replaced by U+FFFD"
    assert any(line.startswith("offset 410 (35 bytes): truncated") for line in err_lines)
    assert len(err_lines) == 6


def test_decode_missing_file_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cti", "decode", "--protocol", "ami", "/nonexistent/capture.ami"]) == 1
    assert capsys.readouterr().err.startswith("ccenter: error: cannot read /nonexistent/capture.ami")


def test_decode_csta_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cti", "decode", "--protocol", "csta", str(FIXTURES / "csta_transfer.csta")]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert err == ""
    assert [r["call_id"] for r in rows if r["type"] == "call.ended"] == ["csta-3402", "csta-3401", "csta-3410"]


def test_decode_csta_garbage_reports_each_bad_frame(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cti", "decode", "--protocol", "csta", str(FIXTURES / "csta_garbage.csta")]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[1] == "offset 12 (122 bytes): XML with a DOCTYPE or ENTITY declaration refused"
    assert len(err.splitlines()) == 4
