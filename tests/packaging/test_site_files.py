"""What an admin installs, checked as the tools that read it do: the example site configuration
(``ccenter/config.py``), the systemd units (systemd itself, and ``ccenter``'s own parser for their
command lines) and the desktop entry."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from ccenter.cli import build_parser
from ccenter.config import load_log_settings, load_settings
from ccenter.logs import setup_logging

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
UNITS = sorted((PACKAGING / "systemd").glob("ccenter-*.service"))
SERVER_PROCESSES = {"cti-gateway", "acd", "dialer", "ivr", "api"}
#: What the example environment file gives the units' ${...} (systemd substitutes them).
ENVIRONMENT = {"CCENTER_LINK": "ami://ccenter:secret@pbx:5038", "CCENTER_FASTAGI": "0.0.0.0:4573",
               "CCENTER_API_LISTEN": "127.0.0.1:8080"}


def test_the_example_site_configuration_loads_as_the_processes_read_it() -> None:
    config = PACKAGING / "config" / "ccenter.toml"
    settings = load_settings(config_file=config, environ={})
    assert settings.site == "hq" and settings.db_url.startswith("postgresql+psycopg://")
    assert settings.mqtt_url.startswith("mqtts://") and settings.flows == ("telecom", "telecom-afterhours")
    assert settings.sounds_dir == Path("/var/lib/asterisk/sounds")
    log = load_log_settings(config, environ={})
    assert (log.level, log.json, log.backups, log.max_bytes) == ("info", True, 10, 50 * 1024 * 1024)
    assert log.file == Path("/var/log/ccenter/ccenter.log") and log.levels["bus.mqtt"] == "warning"
    # A process's own .env file wins over the shared file.
    env = {"CCENTER_MQTT": "mqtt://svc-acd-1:pw@broker:1883", "CCENTER_LOG_FILE": "/var/log/ccenter/acd.log"}
    assert load_settings(config_file=config, environ=env).mqtt_url == env["CCENTER_MQTT"]
    assert load_log_settings(config, environ=env).file == Path("/var/log/ccenter/acd.log")


def test_the_commented_acd_table_of_the_example_is_a_valid_acd_configuration(tmp_path: Path) -> None:
    from routing.acd_config import load_acd_config

    text = (PACKAGING / "config" / "ccenter.toml").read_text(encoding="utf-8")
    table = text[text.index("# [[acd.queues]]"):]
    (tmp_path / "acd.toml").write_text("\n".join(line.removeprefix("# ").removeprefix("#")
                                                  for line in table.splitlines()))
    names = [q.name for q in load_acd_config(tmp_path / "acd.toml").queues]
    assert {"vip", "billing", "technical", "sales", "retention", "general", "callbacks"} <= set(names)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[log]\nlevel = "loud"\n', "log level 'loud' is not one of"),
        ("[log]\nmax_mb = 0\n", "log.max_mb must be a size"),
        ("[log]\nbackups = -1\n", "log.backups must be a whole number"),
        ('[log]\nlevels = { "cti" = "chatty" }\n', "log.levels.cti"),
        ('[log]\nrotate = true\n', "unknown key log.rotate"),
        ('[ivr]\nflows = "telecom"\n', "ivr.flows must be a list"),
    ],
)
def test_bad_log_and_ivr_settings_are_refused_in_one_line(tmp_path: Path, table: str, message: str) -> None:
    from ccenter.cli import main

    config = tmp_path / "site.toml"
    config.write_text(table)
    with pytest.raises(Exception, match=message):
        load_log_settings(config, environ={}) if table.startswith("[log]") else load_settings(
            config_file=config, environ={})
    assert main(["doctor", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 1


def test_logs_rotate_by_size_and_keep_the_configured_backups(tmp_path: Path) -> None:
    import logging

    log_file = tmp_path / "logs" / "acd.log"
    root = logging.getLogger()
    before = root.level
    try:
        setup_logging(level="info", file=log_file, max_bytes=2000, backups=2, as_json=True,
                      levels={"noisy.part": "error"})
        for n in range(100):
            logging.getLogger("ccenter.test").info("line %d of the card 4111 1111 1111 1111", n)
        logging.getLogger("noisy.part").warning("not written")
    finally:
        for handler in [h for h in root.handlers if h.get_name() in ("ccenter", "ccenter-file")]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(before)
        logging.getLogger("noisy.part").setLevel(logging.NOTSET)
    files = sorted(p.name for p in log_file.parent.iterdir())
    assert files == ["acd.log", "acd.log.1", "acd.log.2"]
    text = "".join(p.read_text() for p in log_file.parent.iterdir())
    assert '"message": "line 99 of the card' in log_file.read_text()
    assert "4111 1111 1111 1111" not in text and "not written" not in text
    assert all(p.stat().st_size <= 2000 for p in log_file.parent.iterdir())


def _unit(path: Path) -> configparser.RawConfigParser:
    unit = configparser.RawConfigParser(strict=False, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(path)
    return unit


def test_there_is_a_unit_for_every_server_process() -> None:
    assert {p.stem.removeprefix("ccenter-") for p in UNITS} == SERVER_PROCESSES


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_each_unit_restarts_on_failure_and_runs_hardened_as_ccenter(path: Path) -> None:
    service = _unit(path)["Service"]
    assert service["User"] == "ccenter" and service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""
    assert service["Environment"] == "CCENTER_CONFIG=/etc/ccenter/ccenter.toml"
    assert service["EnvironmentFile"] == f"/etc/ccenter/{path.stem.removeprefix('ccenter-')}.env"


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_each_unit_runs_a_ccenter_command_line_that_parses(path: Path) -> None:
    command = _unit(path)["Service"]["ExecStart"]
    for name, value in ENVIRONMENT.items():
        command = command.replace("${" + name + "}", value)
    argv = shlex.split(command)
    assert argv[0] == "/opt/ccenter/venv/bin/ccenter"
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices  # type: ignore[union-attr]
    if argv[1] not in commands:
        pytest.skip(f"`ccenter {argv[1]}` is not part of this build")
    args = parser.parse_args(argv[1:])
    assert callable(args.func)


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units_and_rates_them_well_exposed(tmp_path: Path) -> None:
    ccenter = shutil.which("ccenter") or str(Path(__import__("sys").executable).with_name("ccenter"))
    for path in UNITS:  # the installed paths swapped for this machine's, as an install makes them
        text = path.read_text().replace("/opt/ccenter/venv/bin/ccenter", ccenter)
        (tmp_path / path.name).write_text(text.replace("EnvironmentFile=/", "EnvironmentFile=-/"))
    copies = [str(tmp_path / p.name) for p in UNITS]
    verify = subprocess.run([SYSTEMD_ANALYZE, "verify", *copies], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr
    for copy in copies:
        security = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20", copy],
                                  capture_output=True, text=True, timeout=60)
        assert security.returncode == 0, security.stdout[-2000:]
        assert "Overall exposure level" in security.stdout and " OK " in security.stdout


def test_the_desktop_entry_starts_the_bundle_with_its_icon() -> None:
    entry = configparser.RawConfigParser(strict=True, delimiters=("=",))
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(PACKAGING / "linux" / "ccenter-desktop.desktop", encoding="utf-8")
    main = entry["Desktop Entry"]
    assert main["Type"] == "Application" and main["Terminal"] == "false" and main["Icon"] == "ccenter"
    assert main["Categories"].endswith(";") and "Telephony" in main["Categories"].split(";")
    parser = build_parser()
    for section, command in (("Desktop Entry", "desktop"), ("Desktop Action supervisor", "supervisor")):
        argv = shlex.split(entry[section]["Exec"])
        assert argv[0] == "/opt/ccenter-desktop/ccenter-desktop" and argv[1:] == [command]
        assert callable(parser.parse_args(argv[1:]).func)
    icon = (PACKAGING / "linux" / "ccenter.svg").read_text()
    assert icon.startswith("<svg") and 'viewBox="0 0 256 256"' in icon
