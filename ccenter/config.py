"""Configuration: command-line flags over environment over a TOML file over built-in defaults.

The embedded defaults are SQLite in the user's data folder and the in-process bus. A TOML file
(``--config FILE``) may hold::

    site = "hq"
    default_region = "US"

    [database]
    url = "postgresql+psycopg://ccenter@db.example.com/ccenter"

    [mqtt]
    url = "mqtt://desktop-17:secret@broker.example.com:1883"

    [log]
    level = "info"                       # debug, info, warning (the default), error
    file = "/var/log/ccenter/acd.log"    # besides stderr; rotated by size
    max_mb = 50                          # rotate when the file reaches this size
    backups = 10                         # rotated files kept (acd.log.1 ... acd.log.10)
    json = true                          # one JSON object per line
    levels = { "cti.ami" = "debug" }     # per logger

    [ivr]
    sounds_dir = "/var/lib/asterisk/sounds"   # where ``ccenter doctor`` looks for the flows' prompts
    flows = ["telecom"]                       # the flows this site serves (files or shipped names)

    [desktop]
    not_ready_reasons = ["Break", "Lunch", "Training", "Meeting", "Coaching"]
    dispositions = ["resolved", "order_placed", "info_given", "escalated", "callback_scheduled"]
    wrap_up_seconds = 30
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

APP_NAME = "ccenter"
IN_PROCESS_BUS = "inproc://"


class ConfigError(Exception):
    """A configuration file or value that cannot be used."""


def has_display(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a window can be shown: a display on Linux, or a Qt platform chosen explicitly."""
    env = os.environ if environ is None else environ
    if env.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return True


def data_dir() -> Path:
    """The user's data folder, where the embedded database lives."""
    import platformdirs  # here, not above: only commands that touch data pay for it

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'ccenter.db'}"


@dataclass(frozen=True, slots=True)
class Settings:
    db_url: str
    mqtt_url: str = IN_PROCESS_BUS
    site: str = "main"
    default_region: str = "US"
    config_file: Path | None = None
    not_ready_reasons: tuple[str, ...] = ("Break", "Lunch", "Training", "Meeting", "Coaching")
    dispositions: tuple[str, ...] = (
        "resolved", "order_placed", "info_given", "escalated", "callback_scheduled", "wrong_number",
    )
    wrap_up_seconds: float = 30.0
    #: Where desktops reach ``ccenter api`` (``[api] url`` or CCENTER_API); None: the database directly.
    api_url: str | None = None
    #: ``[connectors.<name>]`` tables, checked by :mod:`connectors.config`; ``[api] system_of_record``.
    connectors: Mapping[str, Any] | None = None
    system_of_record: str | None = None
    sounds_dir: Path | None = None
    flows: tuple[str, ...] = ()

    @property
    def uses_embedded_db(self) -> bool:
        return self.db_url.startswith("sqlite")


#: The keys a configuration file may hold, per table (``None``: the top level). A table named here
#: with ``None`` as its keys belongs to another component, which checks it (``[acd]``: the ACD's
#: queues and agents, :mod:`routing.acd_config`).
KNOWN_KEYS: Mapping[str | None, frozenset[str] | None] = {
    None: frozenset(
        {"site", "default_region", "database", "mqtt", "desktop", "acd", "api", "connectors", "supervisor", "log",
         "ivr"}
    ),
    "database": frozenset({"url"}),
    "mqtt": frozenset({"url"}),
    "desktop": frozenset({"not_ready_reasons", "dispositions", "wrap_up_seconds"}),
    "acd": None,
    "api": frozenset({"url", "system_of_record"}),
    "connectors": None,
    "supervisor": None,  # the supervisor window's thresholds: agent_desktop.supervisor_tiles.Thresholds
    "log": frozenset({"level", "file", "max_mb", "backups", "json", "levels"}),
    "ivr": frozenset({"sounds_dir", "flows"}),
}
#: Database URL schemes we run on (``postgres://`` and ``postgresql://`` mean psycopg).
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


def _read_toml(path: Path) -> Mapping[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"configuration file {path} is not UTF-8 text (line {line})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None


def _check_keys(doc: Mapping[str, Any], path: Path) -> None:
    """Refuse a key no component reads: a typo would otherwise fall back to a default silently."""
    top = KNOWN_KEYS[None] or frozenset()
    for key, value in doc.items():
        if key not in top:
            raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(top))})")
        known = KNOWN_KEYS.get(key)
        if known is None or not isinstance(value, Mapping):
            continue
        for inner in value:
            if inner not in known:
                raise ConfigError(f"{path}: unknown key {key}.{inner} (known in [{key}]: {', '.join(sorted(known))})")


def check_database_url(url: str, origin: str) -> str:
    """``url`` when it names a database we run on; a one-line :class:`ConfigError` otherwise."""
    if "://" not in url:
        raise ConfigError(f"{origin}: not a database URL: {url[:80]!r} (use sqlite:/// or postgresql://)")
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError(f"{origin}: database {scheme}:// is not supported (use sqlite:/// or postgresql://)")
    return url


def check_site(site: str, origin: str) -> str:
    """``site`` when it can be one topic level (letters, digits, ``_ . : @ -``)."""
    if not _SITE.match(site):
        raise ConfigError(f"{origin}: site {site!r} must be 1 to 128 letters, digits or _ . : @ -")
    return site


_SITE = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


def _table_value(doc: Mapping[str, Any], table: str, key: str, path: Path) -> str | None:
    section = doc.get(table)
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}: [{table}] must be a table")
    value = section.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{path}: {table}.{key} must be a string")
    return value


def _top_value(doc: Mapping[str, Any], key: str, path: Path) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{path}: {key} must be a string")
    return value


def load_settings(
    *,
    db: str | None = None,
    mqtt: str | None = None,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings: flag, then environment (``CCENTER_*``), then the TOML file, then defaults."""
    env = os.environ if environ is None else environ
    config_file = config_file or env.get("CCENTER_CONFIG") or None
    doc: Mapping[str, Any] = {}
    path: Path | None = None
    if config_file:
        path = Path(config_file)
        doc = _read_toml(path)
        _check_keys(doc, path)
    file_path = path or Path("<none>")
    settings = Settings(
        db_url=(
            db
            or env.get("CCENTER_DB")
            or _table_value(doc, "database", "url", file_path)
            or default_db_url()
        ),
        mqtt_url=(
            mqtt
            or env.get("CCENTER_MQTT")
            or _table_value(doc, "mqtt", "url", file_path)
            or IN_PROCESS_BUS
        ),
        config_file=path,
    )
    db_origin = ("--db" if db else "CCENTER_DB" if env.get("CCENTER_DB") else str(file_path))
    check_database_url(settings.db_url, db_origin)
    desktop = doc.get("desktop", {})
    if not isinstance(desktop, Mapping):
        raise ConfigError(f"{file_path}: [desktop] must be a table")
    def names(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        values = desktop.get(key)
        if values is None:
            return default
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise ConfigError(f"{file_path}: desktop.{key} must be a non-empty list of names")
        return tuple(v.strip() for v in values)

    settings = replace(
        settings,
        not_ready_reasons=names("not_ready_reasons", settings.not_ready_reasons),
        dispositions=names("dispositions", settings.dispositions),
    )
    if "wrap_up_seconds" in desktop:
        seconds = desktop["wrap_up_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 3600:
            raise ConfigError(f"{file_path}: desktop.wrap_up_seconds must be a number of seconds, 0 to 3600")
        settings = replace(settings, wrap_up_seconds=float(seconds))
    sounds = _table_value(doc, "ivr", "sounds_dir", file_path)
    if sounds:
        settings = replace(settings, sounds_dir=Path(sounds))
    flows = doc.get("ivr", {}).get("flows") if isinstance(doc.get("ivr"), Mapping) else None
    if flows is not None:
        if not isinstance(flows, list) or not all(isinstance(f, str) and f.strip() for f in flows):
            raise ConfigError(f"{file_path}: ivr.flows must be a list of flow files or shipped flow names")
        settings = replace(settings, flows=tuple(f.strip() for f in flows))
    site = env.get("CCENTER_SITE") or _top_value(doc, "site", file_path)
    region = env.get("CCENTER_REGION") or _top_value(doc, "default_region", file_path)
    if site:
        settings = replace(settings, site=check_site(site, "CCENTER_SITE" if env.get("CCENTER_SITE") else
                                                     str(file_path)))
    if region:
        settings = replace(settings, default_region=region.upper())
    api_url = env.get("CCENTER_API") or _table_value(doc, "api", "url", file_path)
    if api_url and not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"{'CCENTER_API' if env.get('CCENTER_API') else file_path}: the API URL must start with "
                          "http:// or https://")
    connectors = doc.get("connectors")
    if connectors is not None and not isinstance(connectors, Mapping):
        raise ConfigError(f"{file_path}: [connectors] must be a table of connector tables")
    return replace(settings, api_url=api_url or None, connectors=connectors,
                   system_of_record=_table_value(doc, "api", "system_of_record", file_path))


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True, slots=True)
class LogSettings:
    """How a process logs: ``[log]`` of the configuration file, ``CCENTER_LOG_*`` over it."""

    level: str | None = None  # None: from -v (warning without it)
    file: Path | None = None
    max_bytes: int = 50 * 1024 * 1024
    backups: int = 10
    json: bool = False
    levels: Mapping[str, str] = field(default_factory=dict)


def _log_level(value: object, origin: str) -> str:
    if not isinstance(value, str) or value.lower() not in LOG_LEVELS:
        raise ConfigError(f"{origin}: log level {value!r} is not one of {', '.join(LOG_LEVELS)}")
    return value.lower()


def load_log_settings(
    config_file: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> LogSettings:
    """The logging settings, read before a command runs (so that its first lines are logged as wanted)."""
    env = os.environ if environ is None else environ
    config_file = config_file or env.get("CCENTER_CONFIG") or None
    section: Mapping[str, Any] = {}
    origin = "<none>"
    if config_file:
        path = Path(config_file)
        doc = _read_toml(path)
        _check_keys(doc, path)
        origin = str(path)
        raw = doc.get("log", {})
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path}: [log] must be a table")
        section = raw
    settings = LogSettings()
    if "level" in section:
        settings = replace(settings, level=_log_level(section["level"], f"{origin}: log.level"))
    if env.get("CCENTER_LOG_LEVEL"):
        settings = replace(settings, level=_log_level(env["CCENTER_LOG_LEVEL"], "CCENTER_LOG_LEVEL"))
    file = env.get("CCENTER_LOG_FILE") or section.get("file")
    if file is not None:
        if not isinstance(file, str) or not file:
            raise ConfigError(f"{origin}: log.file must be a file name")
        settings = replace(settings, file=Path(file))
    if "max_mb" in section:
        size = section["max_mb"]
        if isinstance(size, bool) or not isinstance(size, int | float) or not 0 < size <= 100_000:
            raise ConfigError(f"{origin}: log.max_mb must be a size in megabytes, above 0")
        settings = replace(settings, max_bytes=int(size * 1024 * 1024))
    if "backups" in section:
        backups = section["backups"]
        if isinstance(backups, bool) or not isinstance(backups, int) or not 0 <= backups <= 1000:
            raise ConfigError(f"{origin}: log.backups must be a whole number from 0 to 1000")
        settings = replace(settings, backups=backups)
    if "json" in section:
        if not isinstance(section["json"], bool):
            raise ConfigError(f"{origin}: log.json must be true or false")
        settings = replace(settings, json=section["json"])
    if "levels" in section:
        levels = section["levels"]
        if not isinstance(levels, Mapping):
            raise ConfigError(f"{origin}: log.levels must be a table of logger = level")
        settings = replace(settings, levels={
            str(name): _log_level(value, f"{origin}: log.levels.{name}") for name, value in levels.items()
        })
    return settings
