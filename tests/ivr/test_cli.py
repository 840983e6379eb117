"""``ccenter ivr try`` and the argument handling of ``ccenter ivr``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ccenter.cli import main

from .helpers import ALICE_PIN


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_try_shipped_flow_prints_steps_and_handoff(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ivr", "try", "telecom", "--caller", "+14155550199", "--input", f"1,12345678#,{ALICE_PIN}#,4"])
    out = capsys.readouterr().out
    assert code == 0
    records = lines(out)
    assert records[0] == {"step": 0, "event": "started", "flow": "telecom", "caller": "+14155550199"}
    assert {"step": 2, "input": "12345678#"} in records
    assert {"step": 3, "input": "****"} in records
    transfer = next(r for r in records if r.get("action") == "transfer")
    assert transfer["queue"] == "retention" and transfer["priority"] == 7 and "data" not in transfer
    handoff = records[-2]["handoff"]
    assert handoff["type"] == "call.data" and handoff["queue"] == "retention"
    assert handoff["data"]["routing"] == {"queue": "retention", "priority": 7}
    assert handoff["data"]["fields"]["verified"]["value"] is True
    assert records[-1]["record"]["exit"] == "transferred"
    assert ALICE_PIN not in out


def test_try_flow_file_and_running_out_of_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = tmp_path / "mini.yaml"
    flow.write_text(
        "flow: mini\nstart: m\nfallback: t\nnodes:\n"
        "  m: {type: menu, prompt: 'Press 1', options: {1: t}}\n"
        "  t: {type: transfer, queue: q}\n",
        encoding="utf-8",
    )
    assert main(["ivr", "try", str(flow), "--input", "timeout"]) == 0
    records = lines(capsys.readouterr().out)
    assert {"step": 1, "input": "timeout"} in records
    assert records[-3]["note"] == "no more input: the caller hangs up"
    assert records[-1]["record"]["exit"] == "abandoned"
    assert "routing" not in records[-2]["handoff"]["data"]


def test_try_reports_inputs_after_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ivr", "try", "telecom-afterhours", "--input", "1,9,5,hangup"]) == 0
    records = lines(capsys.readouterr().out)
    assert records[-3] == {"step": 2, "event": "ignored input", "input": "(not waiting)"}
    assert records[-1]["record"]["exit"] == "self_served"


def test_try_hangup_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ivr", "try", "telecom", "--input", "1,h"]) == 0
    records = lines(capsys.readouterr().out)
    assert {"step": 2, "input": "hangup"} in records
    assert records[-1]["record"]["exit"] == "abandoned"


def test_try_unknown_flow(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ivr", "try", "nonesuch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ccenter: error: no flow file 'nonesuch'")
    assert "telecom" in err and len(err.splitlines()) == 1


def test_try_bad_flow_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = tmp_path / "bad.yaml"
    flow.write_text("flow: bad\nstart: a\nfallback: a\nnodes:\n  a: {type: dance}\n", encoding="utf-8")
    assert main(["ivr", "try", str(flow)]) == 1
    err = capsys.readouterr().err
    assert f"{flow}:5: node 'a': unknown node type 'dance'" in err


def test_ivr_without_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ivr"]) == 2
    assert "give a sub-command" in capsys.readouterr().err


@pytest.mark.parametrize("listen", ["4573", "host:", "host:99999", ":4573"])
def test_bad_listen_address(listen: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ivr", "--fastagi", listen]) == 1
    assert "--fastagi takes HOST:PORT" in capsys.readouterr().err
    assert main(["ivr", "serve", "--fastagi", listen]) == 1


def _at_revision(path: Path, revision: str | None) -> str:
    """A SQLite database at ``revision`` of the migrations (``None``: none), or stamped with a future one."""
    from crm import db

    url = f"sqlite:///{path}"
    engine = db.connect(url)
    try:
        if revision == "9999_future":
            db.upgrade(engine)
            with engine.begin() as c:
                c.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
        elif revision is not None:
            db.upgrade(engine, revision)
    finally:
        engine.dispose()
    return url


@pytest.mark.parametrize(
    ("revision", "said"),
    [
        ("0014_workflow_escalation", r"has schema revision 0014_workflow_escalation, this version needs \S+: run "
                                     r"`ccenter db upgrade`"),
        ("9999_future", r"has schema revision 9999_future, newer than this version of ccenter knows"),
        (None, r"has no schema yet: run `ccenter db upgrade`"),
    ],
    ids=["older", "newer", "none"],
)
def test_serve_refuses_a_schema_not_its_own_with_a_clear_message(
    revision: str | None, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    url = _at_revision(tmp_path / "ccenter.db", revision)
    argv = ["ivr", "serve", "--fastagi", "127.0.0.1:0", "--db", url, "--outbox", str(tmp_path / "ivr.jsonl")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert re.search(r"^ccenter ivr: error: the database sqlite:///\S+ " + said, err, re.M), err
    assert "the IVR stops" in err and "Traceback" not in err
