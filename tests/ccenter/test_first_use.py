"""What a new user meets: commands run in the wrong order, on the wrong database, into ``head``.

Every error a user can cause is one line starting with ``ccenter: error:`` and exit status 1, with
no traceback; looking creates nothing; shipped flows, seed and queues agree.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

import resources
from bench._ports import free_port
from ccenter.cli import main
from crm import db
from crm.models import Customer, Queue

from ..cti.helpers import FIXTURES

CCENTER = [sys.executable, "-m", "ccenter"]


def one_error_line(err: str, message: str) -> None:
    assert err.startswith("ccenter: error: "), err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.fixture
def seeded(db_url: str) -> str:
    assert main(["db", "seed", "--customers", "40", "--db", db_url]) == 0
    return db_url


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with a fresh home folder: nothing in the data folder, no settings in the environment."""
    for name in ("CCENTER_DB", "CCENTER_MQTT", "CCENTER_CONFIG", "CCENTER_SITE", "CCENTER_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / "data"))
    return tmp_path / "home"


# --- before `db upgrade`, and unsupported databases ------------------------------------------


@pytest.mark.parametrize(
    "args", [["customer", "find", "Ada"], ["customer", "show", "--id", "1"], ["campaign", "list"]]
)
def test_look_ups_before_db_upgrade_say_what_to_do_and_create_nothing(fresh_home: Path, args, capsys) -> None:
    assert main(args) == 1
    one_error_line(capsys.readouterr().err, "no database at")
    assert not fresh_home.exists()


def test_a_database_without_schema_is_named_as_such(tmp_path: Path, capsys) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    assert main(["customer", "find", "Ada", "--db", f"sqlite:///{path}"]) == 1
    one_error_line(capsys.readouterr().err, "has no schema yet: run `ccenter db upgrade`")


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "seed"], ["customer", "find", "Ada"]])
def test_a_mysql_url_is_one_clear_line(command, capsys) -> None:
    assert main([*command, "--db", "mysql://ccenter@db.example.com/ccenter"]) == 1
    one_error_line(capsys.readouterr().err, "--db: database mysql:// is not supported (use sqlite:/// or postgresql://)")


def test_doctor_names_a_mysql_url_as_broken(capsys) -> None:
    """The settings are checked before any check runs: the URL is refused in one line, naming the option."""
    assert main(["doctor", "--db", "mysql://ccenter@db.example.com/ccenter"]) == 1
    out, err = capsys.readouterr()
    one_error_line(err, "--db: database mysql:// is not supported")
    assert "ok " not in out


def test_doctor_only_looks(fresh_home: Path, capsys) -> None:
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "BROKEN  database  no database at" in out and "run `ccenter db upgrade`" in out
    assert not fresh_home.exists()


# --- output into a reader that stops early ---------------------------------------------------


def run_into_closed_pipe(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``ccenter ARGS`` with its standard output a pipe whose reader has gone (as ``| head`` does)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([*CCENTER, *args], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)


def test_output_piped_into_head_ends_quietly(seeded: str, tmp_path: Path) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text("campaign_id,phone,offer\nQ4-5G-UPGRADE,+14155550142,5G\n", encoding="utf-8")
    for args in (
        ["customer", "show", "--id", "1", "--db", seeded],
        ["customer", "find", "10000001", "--db", seeded],
        ["campaign", "import", str(targets), "--db", seeded],
        ["cti", "decode", "--protocol", "ami", str(FIXTURES / "ami_inbound_queue.ami")],
    ):
        done = run_into_closed_pipe(args)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr == "", (args, done.stderr)


# --- commands' own behaviour ----------------------------------------------------------------


def test_find_with_no_match_says_so_on_stderr(seeded: str, capsys) -> None:
    assert main(["customer", "find", "Zzyzx", "--db", seeded]) == 3
    out, err = capsys.readouterr()
    assert out == "" and err == "ccenter: no customer matches 'Zzyzx'\n"


def test_a_second_seed_refuses_and_adds_nothing(seeded: str, capsys) -> None:
    capsys.readouterr()
    assert main(["db", "seed", "--customers", "40", "--db", seeded]) == 1
    one_error_line(capsys.readouterr().err, "already holds 40 customers")
    engine = db.connect(seeded)
    with db.session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 40
    engine.dispose()


def test_shipped_flows_seed_and_queues_agree(seeded: str, capsys) -> None:
    capsys.readouterr()
    assert main(["doctor", "--db", seeded]) == 0
    out = capsys.readouterr().out
    assert "ok      flows     telecom-afterhours, telecom: every queue they name is in the database" in out
    engine = db.connect(seeded)
    with db.session_factory(engine)() as session:
        assert {"general", "callbacks", "technical_24x7"} <= set(session.scalars(select(Queue.name)))
    engine.dispose()


def test_doctor_names_a_queue_a_flow_needs_and_the_database_lacks(seeded: str, tmp_path: Path, capsys) -> None:
    flow = tmp_path / "night.yaml"
    flow.write_text(
        "flow: night\nstart: a\nfallback: a\nnodes:\n  a: {type: transfer, queue: night_shift}\n", encoding="utf-8"
    )
    capsys.readouterr()
    assert main(["doctor", "--db", seeded, "--flow", str(flow), "--flow", "telecom"]) == 1
    out = capsys.readouterr().out
    assert "BROKEN  flows     night names queue 'night_shift', which the database lacks (it has: billing," in out


def test_campaign_export_to_standard_output(seeded: str, capsys) -> None:
    capsys.readouterr()
    assert main(["campaign", "export", "Q4-5G-UPGRADE", "-", "--db", seeded]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert rows and {row["campaign_id"] for row in rows} == {"Q4-5G-UPGRADE"}
    assert err.startswith(f"wrote {len(rows)} work items of Q4-5G-UPGRADE to standard output")
    assert not Path("-").exists()


def test_the_acd_yaml_of_a_replay_is_given_with_candidate_and_the_old_spelling_still_works(capsys) -> None:
    scenario = str(resources.path("scenarios", "single_queue.yaml"))
    assert main(["simulate", scenario, "--candidate", "new.yaml"]) == 1
    one_error_line(capsys.readouterr().err, "--candidate and --baseline go with --replay")
    assert main(["simulate", scenario, "--config", "new.yaml"]) == 1
    warning, error = capsys.readouterr().err.splitlines()
    assert warning.startswith("ccenter: warning: `ccenter simulate --config NEW.yaml` is now")
    assert error == "ccenter: error: --candidate and --baseline go with --replay"


@pytest.mark.parametrize("option", ["--candidate", "--baseline", "--config"])
def test_acd_explain_of_a_scenario_refuses_a_replays_configuration_instead_of_ignoring_it(option: str, capsys) -> None:
    scenario = str(resources.path("scenarios", "single_queue.yaml"))
    assert main(["acd", "explain", scenario, "--at", "100", option, "new.yaml"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[-1] == "ccenter: error: --candidate and --baseline go with --replay"


# --- production processes without their peers -------------------------------------------------


@contextmanager
def running(args: list[str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([*CCENTER, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def lines_until(proc: subprocess.Popen[str], wanted: str, count: int = 1) -> list[str]:
    """Standard error lines up to the ``count``-th containing ``wanted`` (the read ends at EOF otherwise)."""
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        if sum(wanted in s for s in seen) == count:
            return seen
    raise AssertionError(f"the process ended (status {proc.wait()}) without saying {wanted!r}: {seen}")


def closed_port() -> int:
    return free_port(udp=False)  # nothing listens there: chosen free, and outside the ephemeral range


def test_gateway_on_a_serial_device_that_does_not_exist_says_it_waits_for_it(tmp_path: Path) -> None:
    with running(["cti-gateway", "--link", f"serial://{tmp_path}/ttyUSB9?baud=9600"]) as proc:
        seen = lines_until(proc, "does not exist")
        assert f"serial port {tmp_path}/ttyUSB9 does not exist: waiting for the device" in seen[-1]
        assert proc.poll() is None


def test_gateway_keeps_trying_an_unreachable_ami_and_says_so(mqtt_url: str) -> None:
    port = closed_port()
    with running(["cti-gateway", "--link", f"ami://u:p@127.0.0.1:{port}", "--mqtt", mqtt_url]) as proc:
        seen = lines_until(proc, "trying again in", count=2)
        tries = [line for line in seen if "trying again in" in line]
        assert tries[0].startswith(f"ccenter cti-gateway: cannot reach AMI at 127.0.0.1:{port}")
        assert "trying again in 2 s (Ctrl+C to stop)" in tries[0] and "trying again in 4 s" in tries[1]
        assert proc.poll() is None


def test_gateway_and_acd_on_the_in_process_bus_say_nothing_can_reach_them() -> None:
    scenario = str(resources.path("scenarios", "single_queue.yaml"))
    for args in (["cti-gateway", "--link", "sim://"], ["acd", "--queues", scenario]):
        with running(args) as proc:
            seen = lines_until(proc, "no broker given")
            assert "give --mqtt URL (or CCENTER_MQTT) in production" in seen[-1]


@pytest.mark.parametrize(
    "args",
    [
        ["cti-gateway", "--link", "sim://"],
        ["acd", "--queues", str(resources.path("scenarios", "single_queue.yaml"))],
    ],
)
def test_gateway_and_acd_with_an_unreachable_broker_say_so(args, capsys) -> None:
    assert main([*args, "--mqtt", f"mqtt://127.0.0.1:{closed_port()}"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("ccenter: error: cannot connect to the MQTT broker mqtt://127.0.0.1:")


@pytest.mark.parametrize("command", ["dialer", "desktop", "supervisor"])
def test_production_processes_without_a_broker_exit_1(command: str, capsys) -> None:
    assert main([command]) == 1
    one_error_line(capsys.readouterr().err, "give --mqtt URL")
