"""Lifting a lockout (``crm.lockout``) by hand: an administrator unlocks an agent's log-in or an account's PIN.

Each function clears the counter in the session's transaction (commit it) and returns the counter as
it was, so the caller can say what it lifted; ``ccenter unlock`` writes the audit line.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..lockout import Counter
from ..models import DEFAULT_SITE, Account, Agent


def unlock_login(session: Session, login: str, site: str = DEFAULT_SITE) -> Counter:
    """Clear the wrong-password counter and lock of agent ``login`` of ``site``; the counter before.
    NotFound if no such agent."""
    agent = session.scalar(select(Agent).where(Agent.login == login, Agent.site == site).with_for_update())
    if agent is None:
        raise NotFound(f"no agent with the login {login!r}")
    before = Counter(agent.login_failures or 0, agent.login_locked_until)
    agent.login_failures, agent.login_locked_until = 0, None
    session.flush()
    return before


def unlock_pin(session: Session, account_number: str) -> Counter:
    """Clear the account's wrong-PIN counter and lock; the counter before. NotFound if no such account."""
    account = session.scalar(
        select(Account).where(Account.account_number == account_number.strip()).with_for_update()
    )
    if account is None:
        raise NotFound(f"no account {account_number!r}")
    before = Counter(account.pin_failures or 0, account.pin_locked_until)
    account.pin_failures, account.pin_locked_until = 0, None
    session.flush()
    return before
