"""``ccenter unlock agent LOGIN`` and ``ccenter unlock pin ACCOUNT``: lift a lockout, with an audit line.

After ``crm.lockout.MAX_FAILURES`` wrong tries an agent's log-in or an account's PIN locks for
``crm.lockout.LOCK_TIME``. An administrator who has checked who is asking lifts it here; every unlock
is logged (WARNING, logger ``ccenter.audit``) with the operating-system user who ran it, what was
locked and the ``--reason`` given.
"""

from __future__ import annotations

import argparse
import getpass
import logging
from datetime import UTC, datetime
from typing import Any

from ..cli import settings_from

audit = logging.getLogger("ccenter.audit")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "unlock",
        help="lift the lockout of an agent's log-in or an account's PIN (audited)",
        description="After five wrong tries a log-in or a PIN locks for 30 minutes. Unlocking clears the "
        "counter and the lock, and writes an audit line with who did it and why.",
    )
    commands = parser.add_subparsers(dest="unlock_command", metavar="WHAT", required=True)
    agent = commands.add_parser("agent", parents=[common], help="unlock an agent's log-in")
    agent.add_argument("login", metavar="LOGIN", help="the agent's login")
    pin = commands.add_parser("pin", parents=[common], help="unlock the PIN of a customer's account")
    pin.add_argument("account", metavar="ACCOUNT", help="the account number")
    for p in (agent, pin):
        p.add_argument("--reason", required=True, metavar="TEXT",
                       help="why (for the audit line), e.g. 'caller verified by security questions'")
        p.set_defaults(func=run_unlock)


def run_unlock(args: argparse.Namespace) -> int:
    from crm import db
    from crm.repository.lockouts import unlock_login, unlock_pin

    what = "agent" if args.unlock_command == "agent" else "pin"
    target = args.login if what == "agent" else args.account
    reason = " ".join(args.reason.split())  # one line in the log, whatever was typed
    settings = settings_from(args)
    engine = db.connect(settings.db_url)
    try:
        with db.session_factory(engine)() as session, session.begin():
            before = unlock_login(session, target, settings.site) if what == "agent" else unlock_pin(session, target)
    finally:
        engine.dispose()
    now = datetime.now(UTC)
    subject = f"the log-in of agent {target}" if what == "agent" else f"the PIN of account {target}"
    until = before.locked_until
    state = f"locked until {until.isoformat(timespec='seconds')}" if until and before.locked(now) else "not locked"
    audit.warning("%s unlocked %s (%s, %d wrong tries): %s", getpass.getuser(), subject, state, before.failures,
                  reason)
    print(f"unlocked {subject} (it was {state}, after {before.failures} wrong tries)")
    return 0
