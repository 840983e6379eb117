"""``ccenter agent import|list``: the agents of a site, from a CSV file an admin keeps (docs/admin.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..cli import settings_from


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("agent", help="the site's agents: import them from a CSV file, list them")
    commands = parser.add_subparsers(dest="agent_command", metavar="COMMAND", required=True)
    load = commands.add_parser(
        "import", parents=[common], help="add or update agents from a CSV file (login, name, role, extension, "
        "skills, active)",
        description="New agents get a random password, written once to --credentials (mode 0600) or printed; "
        "agents already there keep theirs. Rows that cannot be used are reported with their line number while "
        "the rest load. Run `ccenter broker provision` afterwards to give new agents their broker users.",
    )
    load.add_argument("file", metavar="AGENTS.csv")
    load.add_argument("--credentials", type=Path, metavar="FILE", help="write new agents' passwords here")
    load.set_defaults(func=run_import)
    listing = commands.add_parser("list", parents=[common], help="agents with role, extension and skills")
    listing.set_defaults(func=run_list)


def run_import(args: argparse.Namespace) -> int:
    from crm import db
    from crm.agent_files import import_agents

    settings = settings_from(args)
    engine = db.open_current(settings.db_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            report = import_agents(session, args.file, settings.site)
    finally:
        engine.dispose()
    print(f"agents: {len(report.created)} created, {len(report.updated)} updated, {len(report.rejects)} rejected")
    for line, reason in report.rejects:
        print(f"  line {line}: {reason}")
    if report.passwords:
        text = "".join(f"{login}:{password}\n" for login, password in report.passwords.items())
        if args.credentials:
            fd = os.open(args.credentials, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write(text)
            print(f"new agents' passwords written to {args.credentials}")
        else:
            print("new agents' passwords (shown once):")
            sys.stdout.write(text)
    return 1 if report.rejects and not (report.created or report.updated) else 0


def run_list(args: argparse.Namespace) -> int:
    from crm import db, repository

    settings = settings_from(args)
    engine = db.open_current(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            agents = repository.list_agents(session, settings.site)
    finally:
        engine.dispose()
    for agent in agents:
        skills = " ".join(f"{name}:{level}" for name, level in sorted(agent.skills.items()))
        print(f"{agent.login:<20} {agent.role:<16} {agent.extension or '-':<8} {agent.name}  {skills}")
    return 0
