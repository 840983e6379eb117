"""A configuration mistake is a one-line error naming what is wrong, never a silent default or a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ccenter.cli import main
from ccenter.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[mqtt]\nurll = "mqtt://broker:1883"\n', "unknown key mqtt.urll"),
        ('[database]\nuri = "postgresql://db/ccenter"\n', "unknown key database.uri"),
        ('[desktop]\nwrapup_seconds = 20\n', "unknown key desktop.wrapup_seconds"),
        ('sight = "hq"\n', "unknown key 'sight'"),
        ('[databse]\nurl = "postgresql://db/ccenter"\n', "unknown key 'databse'"),
    ],
)
def test_unknown_keys_are_errors_naming_the_key(tmp_path, text: str, message: str) -> None:
    config = tmp_path / "ccenter.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config_file=config, environ={})


def test_the_acd_table_belongs_to_the_acd_and_is_accepted(tmp_path) -> None:
    config = tmp_path / "ccenter.toml"
    config.write_text('site = "hq"\n[acd]\nqueues_file = "queues.yaml"\n')
    assert load_settings(config_file=config, environ={}).site == "hq"


@pytest.mark.parametrize("url", ["mysql://u@db/ccenter", "mysql+pymysql://u@db/x", "oracle://db"])
def test_databases_we_do_not_run_on_are_refused_naming_where_the_url_came_from(url: str) -> None:
    with pytest.raises(ConfigError, match=r"CCENTER_DB: database .* is not supported"):
        load_settings(environ={"CCENTER_DB": url})
    with pytest.raises(ConfigError, match=r"--db: database"):
        load_settings(db=url, environ={})


def test_a_path_is_not_a_database_url() -> None:
    with pytest.raises(ConfigError, match=r"--db: not a database URL: 'ccenter.db'"):
        load_settings(db="ccenter.db", environ={})


def test_a_config_file_that_is_not_utf8_says_so_with_the_line(tmp_path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes('site = "hq"\n[desktop]\nnot_ready_reasons = ["Café"]\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.toml is not UTF-8 text \(line 3\)"):
        load_settings(config_file=config, environ={})


@pytest.mark.parametrize("site", ["a/b", "hq+", "#", "x" * 129, "sp ace"])
def test_a_site_that_cannot_be_a_topic_level_is_refused(tmp_path, site: str) -> None:
    with pytest.raises(ConfigError, match="CCENTER_SITE: site"):
        load_settings(environ={"CCENTER_SITE": site})
    config = tmp_path / "site.toml"
    config.write_text(f"site = {site!r}\n".replace("'", '"'))
    with pytest.raises(ConfigError, match=r"site\.toml: site"):
        load_settings(config_file=config, environ={})


def test_the_command_prints_one_line_and_exits_1(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "typo.toml"
    config.write_text('[mqtt]\nurll = "mqtt://broker:1883"\n')
    assert main(["db", "upgrade", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key mqtt.urll" in err and "Traceback" not in err


def test_a_deeply_nested_flow_is_a_one_line_error(tmp_path) -> None:
    flow = tmp_path / "deep.yaml"
    flow.write_text("name: deep\nnodes: " + "[" * 5000 + "]" * 5000 + "\n")
    done = subprocess.run([sys.executable, "-m", "ccenter", "ivr", "try", str(flow), "--data", "demo"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == f"ccenter: error: {flow}:2: nested deeper than 32 levels"
