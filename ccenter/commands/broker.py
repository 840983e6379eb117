"""``ccenter broker provision``: a broker user for every process and every agent, and their ACL.

Mosquitto's password file (the format of ``mosquitto_passwd``: PBKDF2-SHA512, ``$7$``) and ACL file
(``acl_file``, with ``%u``/``%c`` patterns for the agents) are written from the agents table and the
service users. Users already in the password file keep their password; new ones get a random one,
written once to ``--credentials`` (mode 0600) or printed; users no longer wanted (an agent made
inactive or removed) are dropped. Mosquitto reads both files again on SIGHUP.

What each identity may do is the table below (:data:`SERVICE_RULES`, :data:`AGENT_PATTERNS`,
:data:`SUPERVISOR_RULES`, :data:`ADMIN_RULES`, :data:`TEAM_AGENT_RULES`); docs/security.md explains it.
A supervisor reads the agents of their own team only: one pair of lines per agent of the team, from the
agents table (run ``provision`` again when teams change). The ACL shipped in
``packaging/mosquitto/ccenter.acl`` is what this writes for the default services and no supervisor.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import logging
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..cli import settings_from
from ..config import ConfigError

if TYPE_CHECKING:
    from crm.broker_accounts import BrokerAgent

logger = logging.getLogger(__name__)

#: ``site`` in the ACL: every site of the broker.
_P = "ccenter/v1/+"

#: What every user may do (Mosquitto ``pattern`` lines; ``%u`` is the user name, ``%c`` the client id).
#: An agent's user name is its login, which is its agent id on the bus.
AGENT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("write", f"{_P}/agents/%u/commands"),  # its own commands, to the CTI gateway
    ("read", f"{_P}/agents/%u/events"),  # its state, its calls' events, its results, its offers
    ("read", f"{_P}/agents/%u/workflows"),  # the workflow changes of the orders and requests it took
    ("read", f"{_P}/queues/+/stats"),
    ("read", f"{_P}/cti/capabilities"),  # the gateway's last will among them: no presence is read
    ("write", f"{_P}/presence/%c"),  # its own process presence and last will (never read by agents)
    ("readwrite", f"{_P}/agents/%u/presence"),  # its desktop's presence and last will
)

#: What each service role may do beyond that.
SERVICE_RULES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "cti-gateway": (
        ("read", f"{_P}/cti/commands"),
        ("read", f"{_P}/agents/+/commands"),
        ("read", f"{_P}/acd/leader"),
        ("readwrite", f"{_P}/calls/+"),
        ("write", f"{_P}/agents/+/events"),
        ("write", f"{_P}/cti/results"),
        ("write", f"{_P}/cti/capabilities"),
    ),
    "acd": (
        ("read", f"{_P}/calls/+"),
        ("readwrite", f"{_P}/agents/+/events"),
        ("write", f"{_P}/cti/commands"),
        ("read", f"{_P}/cti/results"),
        ("readwrite", f"{_P}/acd/leader"),
        ("readwrite", f"{_P}/acd/state"),
        ("readwrite", f"{_P}/acd/state/+"),
        ("write", f"{_P}/queues/+/stats"),
        ("read", f"{_P}/acd/explain"),
        ("write", f"{_P}/acd/explanations"),
        ("read", f"{_P}/supervisors/+/actions"),
        ("write", f"{_P}/supervisors/+/results"),
        ("readwrite", f"{_P}/agents/+/day"),  # the agents' figures of the day (a standby carries them on)
        ("read", f"{_P}/presence/+"),  # the other ACDs' (leadership)
        ("read", f"{_P}/agents/+/presence"),  # the desktops': no offer to an agent whose desktop died
    ),
    "dialer": (
        ("read", f"{_P}/calls/+"),
        ("write", f"{_P}/cti/commands"),
        ("read", f"{_P}/cti/results"),
    ),
    "ivr": (("write", f"{_P}/calls/+"),),
    "api": (("write", f"{_P}/agents/+/workflows"),),  # `ccenter api`: status reports and escalations
    "supervisor": (("read", "ccenter/v1/#"), ("write", f"{_P}/acd/explain")),
}

#: What an agent whose role is supervisor or admin may do beyond its own topics and its own
#: ``supervisors/<login>/actions`` and ``results`` (which carry its actions and its questions to the
#: ACD, so that the ACD answers it about its own team only): nothing site-wide (see docs/security.md).
SUPERVISOR_RULES: tuple[tuple[str, str], ...] = ()

#: An administrator also reads every agent's state and figures of the day, and every call.
ADMIN_RULES: tuple[tuple[str, str], ...] = (
    ("read", f"{_P}/agents/+/events"),
    ("read", f"{_P}/agents/+/day"),
    ("read", f"{_P}/agents/+/workflows"),
    ("read", f"{_P}/calls/+"),
)

#: A supervisor reads these topics of each agent of their own team (``{agent}``: its login), and no other
#: agent's.
TEAM_AGENT_RULES: tuple[tuple[str, str], ...] = (
    ("read", f"{_P}/agents/{{agent}}/events"),
    ("read", f"{_P}/agents/{{agent}}/day"),
    ("read", f"{_P}/agents/{{agent}}/workflows"),  # escalations of the team's orders and requests
)

#: The service users of a site, one per process (two ACDs: a leader and its standby).
DEFAULT_SERVICES: Mapping[str, str] = {
    "svc-cti-gateway": "cti-gateway",
    "svc-acd-1": "acd",
    "svc-acd-2": "acd",
    "svc-dialer": "dialer",
    "svc-ivr": "ivr",
    "svc-api": "api",
    "svc-supervisor": "supervisor",
}

SERVICE_PREFIX = "svc-"
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
#: PBKDF2 rounds of a new password hash (Mosquitto's own tool uses 101; the passwords are random).
ITERATIONS = 1000


class ProvisionError(ConfigError):
    """A user or file that cannot be provisioned."""


def password_hash(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``password`` as Mosquitto 2's password file stores it: ``$7$<iterations>$<salt>$<PBKDF2-SHA512>``."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def acl_text(services: Mapping[str, str], agents: Iterable[BrokerAgent] = ()) -> str:
    """The ACL file for these service users (user -> role) and agents (supervisors and admins get lines
    of their own: a supervisor reads the agents of their team, an administrator every agent)."""
    people = list(agents)
    lines = [
        "# ccenter broker ACL, written by `ccenter broker provision` (see docs/security.md).",
        "# Every process and every agent logs in with its own user; anonymous clients are refused.",
        "# An agent's user name is its login; services' start with svc-.",
        "",
        "# Everyone: an agent's own commands, events and desktop presence; queue statistics and the CTI",
        "# capabilities. Nobody but the ACDs (and svc-supervisor) reads presence/+: a client id is secret.",
        "# A supervisor also reads the events and figures of the day of each agent of their own team (a line",
        "# each, from the agents table); an administrator every agent's.",
    ]
    lines += [f"pattern {access} {topic}" for access, topic in AGENT_PATTERNS]
    for user, role in services.items():
        lines += ["", f"# {role}", f"user {user}"]
        lines += [f"topic {access} {topic}" for access, topic in SERVICE_RULES[role]]
    for person in people:
        if not person.supervises:
            continue
        login = person.login
        if person.role == "admin":
            lines += ["", "# administrator: every agent", f"user {login}"]
            lines += [f"topic {access} {topic}" for access, topic in (*SUPERVISOR_RULES, *ADMIN_RULES)]
        else:
            team = sorted(a.login for a in people if person.team and a.team == person.team)
            lines += ["", f"# supervisor of team {person.team or '(none)'}: its agents only", f"user {login}"]
            lines += [f"topic {access} {topic}" for access, topic in SUPERVISOR_RULES]
            lines += [f"topic {access} {topic.format(agent=agent)}" for agent in team
                      for access, topic in TEAM_AGENT_RULES]
        # Its own actions, which only it may write (the topic says who acts), and their results.
        lines += [f"topic write {_P}/supervisors/{login}/actions", f"topic read {_P}/supervisors/{login}/results"]
    return "\n".join(lines) + "\n"


def read_password_file(path: Path) -> dict[str, str]:
    """user -> hash of an existing password file (empty when there is none)."""
    if not path.exists():
        return {}
    users: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not hashed:
            raise ProvisionError(f"{path}:{number}: not a password file line (user:hash)")
        users[user] = hashed
    return users


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def provision(
    password_file: Path,
    acl_file: Path,
    agents: Sequence[BrokerAgent],
    services: Mapping[str, str] = DEFAULT_SERVICES,
) -> tuple[dict[str, str], list[str]]:
    """Write both files for ``agents`` and ``services``.

    Returns the new users' passwords and the users removed.
    """
    for user, role in services.items():
        if role not in SERVICE_RULES:
            raise ProvisionError(f"unknown service role {role!r} for {user} (known: {', '.join(SERVICE_RULES)})")
        if not _USER.match(user) or not user.startswith(SERVICE_PREFIX):
            raise ProvisionError(f"a service user's name starts with {SERVICE_PREFIX!r}: {user!r}")
    for login in (a.login for a in agents):
        if not _USER.match(login) or login.startswith(SERVICE_PREFIX):
            raise ProvisionError(
                f"agent login {login!r} cannot be a broker user (letters, digits, _ . @ -; not starting with "
                f"{SERVICE_PREFIX!r})"
            )
    wanted = [*services, *(a.login for a in agents)]
    existing = read_password_file(password_file)
    new: dict[str, str] = {}
    entries: dict[str, str] = {}
    for user in wanted:
        if user in existing:
            entries[user] = existing[user]
        else:
            new[user] = secrets.token_urlsafe(24)
            entries[user] = password_hash(new[user])
    removed = sorted(set(existing) - set(entries))
    _write_private(password_file, "".join(f"{user}:{hashed}\n" for user, hashed in entries.items()))
    _write_private(acl_file, acl_text(services, agents))
    return new, removed


def _service(text: str) -> tuple[str, str]:
    user, sep, role = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected USER=ROLE, not {text!r}")
    return user, role


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("broker", help="the MQTT broker's users and access rules")
    commands = parser.add_subparsers(dest="broker_command", metavar="ACTION", required=True)
    p = commands.add_parser(
        "provision",
        parents=[common],
        help="write Mosquitto's password and ACL files: a user for every service and active agent",
        description="Users already in the password file keep their password; new users get a random "
        "one; users no longer wanted are removed. Send Mosquitto SIGHUP afterwards.",
    )
    p.add_argument("--passwd", type=Path, required=True, metavar="FILE", help="Mosquitto password_file")
    p.add_argument("--acl", type=Path, required=True, metavar="FILE", help="Mosquitto acl_file")
    p.add_argument("--credentials", type=Path, metavar="FILE",
                   help="append the new users' user:password lines here (mode 0600) instead of printing them")
    p.add_argument("--service", type=_service, action="append", metavar="USER=ROLE",
                   help=f"a service user (roles: {', '.join(SERVICE_RULES)}); repeat; default: "
                   + ", ".join(f"{u}={r}" for u, r in DEFAULT_SERVICES.items()))
    p.add_argument("--no-agents", action="store_true", help="service users only (no database needed)")
    p.set_defaults(func=run_provision)
    e = commands.add_parser(
        "extensions",
        parents=[common],
        help="the extensions an agent may log in on (`ccenter cti-gateway --pin-extensions` refuses others)",
        description="Without EXTENSION, prints the extensions agent LOGIN may use (its own extension and the "
        "assigned ones); with them, assigns exactly those (besides its own extension); --clear removes them.",
    )
    e.add_argument("login", metavar="LOGIN", help="the agent's login")
    e.add_argument("extension", nargs="*", metavar="EXTENSION", help="an extension to assign")
    e.add_argument("--clear", action="store_true", help="assign none besides the agent's own extension")
    e.set_defaults(func=run_extensions)


def run_provision(args: argparse.Namespace) -> int:
    services = dict(args.service) if args.service else dict(DEFAULT_SERVICES)
    agents: list[BrokerAgent] = []
    if not args.no_agents:
        from crm import db
        from crm.broker_accounts import broker_agents

        engine = db.connect(settings_from(args).db_url)
        try:
            with db.session_factory(engine)() as session:
                agents = broker_agents(session)
        finally:
            engine.dispose()
    new, removed = provision(args.passwd, args.acl, agents, services)
    lines = "".join(f"{user}:{password}\n" for user, password in new.items())
    if args.credentials is not None and lines:
        previous = args.credentials.read_text(encoding="utf-8") if args.credentials.exists() else ""
        _write_private(args.credentials, previous + lines)
    elif lines:
        sys.stdout.write(lines)
    print(
        f"{len(services) + len(agents)} broker users in {args.passwd} ({len(new)} new, {len(removed)} removed"
        f"{': ' + ', '.join(removed) if removed else ''}); ACL in {args.acl}. Reload Mosquitto (SIGHUP).",
        file=sys.stderr,
    )
    return 0


def run_extensions(args: argparse.Namespace) -> int:
    from crm import db
    from crm.errors import NotFound
    from crm.repository.extensions import agent_extensions, set_agent_extensions

    if args.clear and args.extension:
        raise SystemExit("ccenter broker extensions: give extensions or --clear, not both")
    settings = settings_from(args)
    engine = db.connect(settings.db_url)
    try:
        with db.session_factory(engine)() as session, session.begin():
            if args.extension or args.clear:
                allowed = set_agent_extensions(session, args.login, args.extension, settings.site)
                logger.info("agent %s may now use extensions %s", args.login, ", ".join(sorted(allowed)) or "none")
            else:
                found = agent_extensions(session, settings.site).get(args.login)
                if found is None:
                    raise NotFound(f"no active agent with the login {args.login!r}")
                allowed = found
    finally:
        engine.dispose()
    print(f"{args.login}: {' '.join(sorted(allowed)) or '(none)'}")
    return 0
