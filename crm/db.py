"""Engines, sessions and schema upgrades.

``connect(url)`` opens an engine on SQLite (the embedded default) or PostgreSQL (production) and
checks that the database answers; ``open_current(url)`` opens one only on an existing database whose
schema is current, and creates nothing; ``upgrade(engine)`` brings its schema to the newest Alembic
revision; ``transaction(factory)`` runs a unit of work that is committed whole or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias, TypeGuard

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The databases the schema and its migrations are written and tested for.
SUPPORTED_BACKENDS = frozenset({"sqlite", "postgresql"})

#: The names other packages use for the ORM's sessions: only crm imports SQLAlchemy itself.
SessionFactory: TypeAlias = sessionmaker[Session]
__all__ = ["DatabaseUnavailable", "Session", "SessionFactory", "answering", "connect", "current_revision",
           "head_revision", "is_current", "is_session_factory", "normalize_url", "safe_url", "session_factory",
           "transaction", "upgrade"]


def is_session_factory(value: object) -> TypeGuard[SessionFactory]:
    return isinstance(value, sessionmaker)


def normalize_url(url: str) -> str:
    """Accept the short forms people type: ``postgresql://`` means the psycopg 3 driver, and libpq's
    multi-host form ``postgresql://user@h1:5432,h2:5432/db?target_session_attrs=read-write`` becomes
    the ``?host=h1:5432&host=h2:5432`` form SQLAlchemy passes on to libpq (which then connects to the
    first host that accepts writes: a primary and its standbys, whichever is primary now)."""
    for short in ("postgresql://", "postgres://"):
        if url.startswith(short):
            url = "postgresql+psycopg://" + url[len(short):]
            break
    return _multi_host_to_query(url)


def _multi_host_to_query(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        return url
    netloc, _, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if "," not in hosts:
        return url
    database, question, query = tail.partition("?")
    host_params = "&".join(f"host={host}" for host in hosts.split(",") if host)
    query = f"{host_params}&{query}" if question and query else host_params
    return f"{scheme}://{userinfo}{at}/{database}?{query}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs (a multi-host URL in its ``?host=`` form)."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True).replace("%3A", ":")
    except ArgumentError:
        return "<invalid URL>"


def connect(url: str, *, check: bool = True) -> Engine:
    """Create an engine for ``url``; with ``check``, prove the database answers now."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseUnavailable(
            f"unsupported database URL {safe_url(url)}: ccenter runs on SQLite (sqlite:///PATH) "
            "or PostgreSQL (postgresql://USER@HOST/DATABASE)"
        )
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise DatabaseUnavailable(f"unsupported database URL {safe_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if check:
        try:
            with engine.connect():
                pass
        except (OperationalError, DBAPIError) as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(f"cannot reach the database {safe_url(url)}: {reason}") from None
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back whole if it raises."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def answering() -> Iterator[None]:
    """Report a database that does not answer (refused, timed out, link lost) as :class:`DatabaseUnavailable`.

    Callers that show errors to people (the desktop) get one short sentence instead of a driver's
    traceback; callers that retry later (outboxes) catch one error type.
    """
    try:
        yield
    except DBAPIError as exc:
        if not isinstance(exc, OperationalError | InterfaceError) and not exc.connection_invalidated:
            raise  # the statement is wrong, not the link: a program error, not an outage
        text = str(exc.orig or exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise DatabaseUnavailable(f"the database is unavailable ({reason}); try again in a moment") from exc


@contextmanager
def refusing_bad_values() -> Iterator[None]:
    """Values the database cannot hold (a number out of range, a broken link, a duplicate key) as
    :class:`InvalidData`, for callers that take values from other systems (``ccenter api``)."""
    from sqlalchemy.exc import DataError, IntegrityError, StatementError

    from .errors import InvalidData

    try:
        yield
    except (DataError, IntegrityError) as exc:
        text = str(exc.orig or exc).strip()
        raise InvalidData(f"value refused by the database: {text.splitlines()[0] if text else type(exc).__name__}") \
            from exc
    except StatementError as exc:
        if isinstance(exc.orig, OverflowError | ValueError):
            raise InvalidData(f"value refused: {exc.orig}") from exc
        raise


@contextmanager
def exclusive(factory: sessionmaker[Session], name: str) -> Iterator[bool]:
    """Whether this process holds the cluster-wide lock ``name`` for the block (PostgreSQL advisory lock;
    one SQLite file has one writer anyway, so there it is always held). Never waits: False when another
    process holds it."""
    import zlib

    from sqlalchemy import text

    with factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            yield True
            return
        key = zlib.crc32(name.encode("utf-8"))
        held = bool(session.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        session.commit()  # the lock is the session's, not the transaction's
        try:
            yield held
        finally:
            if held:
                session.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                session.commit()


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = None
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (the newest by default)."""
    from alembic import command

    config = _alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    logger.info("database %s is at revision %s", safe_url(str(engine.url)), current_revision(engine))


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def is_current(engine: Engine) -> bool:
    if not inspect(engine).has_table("alembic_version"):
        return False
    return current_revision(engine) == head_revision()


UPGRADE_HINT = "run `ccenter db upgrade` (or `ccenter db seed` for demo data)"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and for in-memory SQLite)."""
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser()


def schema_problem(engine: Engine) -> str | None:
    """What is wrong with the schema of a database that answers, or None when it is current."""
    if is_current(engine):
        return None
    url = safe_url(engine.url.render_as_string(hide_password=False))
    current = current_revision(engine) if inspect(engine).has_table("alembic_version") else None
    if current is None:
        return f"the database {url} has no schema yet: {UPGRADE_HINT}"
    if not is_known_revision(current):
        return (f"the database {url} has schema revision {current}, newer than this version of ccenter knows (its "
                f"newest is {head_revision()}): run the ccenter version that upgraded it")
    return f"the database {url} has schema revision {current}, this version needs {head_revision()}: {UPGRADE_HINT}"


def schema_problem_when_reachable(engine: Engine) -> str | None:
    """:func:`schema_problem`, or :class:`DatabaseUnavailable` when the database does not answer."""
    try:
        return schema_problem(engine)
    except (OperationalError, DBAPIError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        url = safe_url(engine.url.render_as_string(hide_password=False))
        raise DatabaseUnavailable(f"cannot reach the database {url}: {reason}") from None


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this version's migrations (a newer version's is not)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory(str(MIGRATIONS)).get_revision(revision) is not None
    except CommandError:
        return False


def open_current(url: str) -> Engine:
    """An engine on an existing database whose schema is current, for commands that read or add data.

    Unlike :func:`connect`, it creates nothing: a SQLite file that does not exist, or a database without
    the current schema, is a :class:`DatabaseUnavailable` that says what to run.
    """
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise DatabaseUnavailable(f"no database at {path} yet: {UPGRADE_HINT}")
    engine = connect(url)
    try:
        problem = schema_problem(engine)
    except BaseException:
        engine.dispose()
        raise
    if problem:
        engine.dispose()
        raise DatabaseUnavailable(problem)
    return engine
