"""``ccenter db ...`` as a user runs it: exit codes and messages."""

import pytest

from ccenter.cli import main
from crm import db, repository


def test_upgrade_then_seed(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert "is at revision" in capsys.readouterr().out
    assert main(["db", "seed", "--customers", "120", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "added 120 customers" in out
    engine = db.connect(db_url)
    with db.session_factory(engine)() as s:
        assert repository.count_customers(s) == 120
    engine.dispose()


def test_database_url_from_environment_and_config_file(tmp_path, monkeypatch, capsys) -> None:
    env_db = tmp_path / "env.db"
    monkeypatch.setenv("CCENTER_DB", f"sqlite:///{env_db}")
    assert main(["db", "upgrade"]) == 0
    assert env_db.exists()
    monkeypatch.delenv("CCENTER_DB")
    file_db = tmp_path / "file.db"
    config = tmp_path / "ccenter.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{file_db}"\n')
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert file_db.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "postgresql://nobody@127.0.0.1:1/none"], "cannot reach the database"),
        (["--db", "nonsense"], "not a database URL"),
        (["--config", "/nonexistent/ccenter.toml"], "configuration file not found"),
    ],
)
def test_bad_settings_give_one_clear_line_and_exit_1(args, message, capsys) -> None:
    assert main(["db", "upgrade", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ccenter: error: ") and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_invalid_toml_is_reported(tmp_path, capsys) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[database\nurl=")
    assert main(["db", "upgrade", "--config", str(config)]) == 1
    assert "not valid TOML" in capsys.readouterr().err
