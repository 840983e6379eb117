"""``ccenter customer`` and ``ccenter doctor`` as a user runs them."""

from __future__ import annotations

import json

import pytest

from ccenter.cli import main
from crm import db
from crm.seed import seed


@pytest.fixture
def seeded(db_url: str) -> str:
    engine = db.connect(db_url)
    seed(engine, customers=60, random_seed=5)
    engine.dispose()
    return db_url


def test_find_and_show_a_customer(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["customer", "show", "--account", "10000001", "--db", seeded]) == 0
    view = json.loads(capsys.readouterr().out)
    number = view["profile"]["phones"][0]
    assert view["profile"]["id"] == 1 and view["profile"]["accounts"][0]["account_number"] == "10000001"
    assert main(["customer", "find", number, "--db", seeded]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert 1 in [r["id"] for r in rows]
    assert main(["customer", "show", "--phone", number, "--db", seeded]) == 0
    assert json.loads(capsys.readouterr().out)["profile"]["phones"][0] == number


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "--phone", "call me maybe"], "not a phone number: 'call me maybe'"),
        (["show", "--phone", "+1 415 555 0111"], "no customer has the number"),
        (["show", "--account", "99999999"], "no account '99999999'"),
        (["show", "--id", "424242"], "no customer 424242"),
    ],
)
def test_bad_look_ups_give_one_clear_line(seeded: str, args, message, capsys) -> None:
    assert main(["customer", *args, "--db", seeded]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"ccenter: error: {message}" or (message in err and len(err.splitlines()) == 1)


def test_find_nothing_exits_3(seeded: str, capsys) -> None:
    assert main(["customer", "find", "Zzyzx", "--db", seeded]) == 3
    assert capsys.readouterr().out == ""


def test_doctor_names_what_is_broken(tmp_path, capsys, mqtt_url: str) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["doctor", "--db", url]) == 1
    out = capsys.readouterr().out
    assert "BROKEN  database  no database at" in out and "run `ccenter db upgrade`" in out
    assert not (tmp_path / "d.db").exists()
    assert main(["db", "upgrade", "--db", url]) == 0
    capsys.readouterr()
    assert main(["doctor", "--db", url]) == 1
    assert "BROKEN  flows     the database holds no queue" in capsys.readouterr().out
    assert main(["db", "seed", "--customers", "0", "--db", url]) == 0
    capsys.readouterr()
    assert main(["doctor", "--db", url, "--mqtt", mqtt_url]) == 0
    assert "ok      broker    connected to" in capsys.readouterr().out
    assert main(["doctor", "--db", url, "--mqtt", "mqtt://127.0.0.1:1"]) == 1
    assert "BROKEN  broker    cannot connect to the MQTT broker mqtt://127.0.0.1:1" in capsys.readouterr().out
