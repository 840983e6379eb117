"""PINs and log-ins lock after a few wrong tries in a row, across sessions; every secret has its own salt."""

from __future__ import annotations

import logging
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from crm import db, repository
from crm.ivr_data import IvrData
from crm.lockout import LOCK_TIME, MAX_FAILURES, Verdict
from crm.models import Account, Agent, Customer
from crm.secrets import hash_secret
from crm.seed import DEMO_PASSWORD, DEMO_PIN, seed

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def add_account(engine: Engine, number: str = "10000042", pin: str = "4321") -> None:
    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name="Ada", language="en", time_zone="UTC")
        customer.accounts = [Account(account_number=number, balance=Decimal("1.00"), pin_hash=hash_secret(pin))]
        s.add(customer)


def add_agent(engine: Engine, login: str = "alice", password: str = "s3cret") -> None:
    with db.transaction(db.session_factory(engine)) as s:
        s.add(Agent(login=login, name=login.title(), extension="1001", password_hash=hash_secret(password)))


@pytest.mark.expect_log(logging.WARNING, "crm.repository.customers", match="PIN of account 10000042 locked until")
def test_the_pin_locks_after_wrong_tries_across_calls_and_unlocks_in_time(engine: Engine) -> None:
    add_account(engine)
    data = IvrData(db.session_factory(engine))  # one session per try, as each call makes its own
    for _ in range(MAX_FAILURES - 1):
        assert data.verify_pin("10000042", "0000") is Verdict.WRONG
    assert data.verify_pin("10000042", "0000") is Verdict.LOCKED
    # Locked: the right PIN is refused too, and wrong ones do not extend the lock.
    assert data.verify_pin("10000042", "4321") is Verdict.LOCKED
    with db.session_factory(engine)() as s:
        account = s.scalar(select(Account))
        assert account is not None and account.pin_failures == MAX_FAILURES
        until = account.pin_locked_until
    assert until is not None
    factory = db.session_factory(engine)
    later = until + timedelta(seconds=1)
    with db.transaction(factory) as s:
        assert repository.check_account_pin(s, "10000042", "4321", now=later) is Verdict.VERIFIED
    with db.transaction(factory) as s:
        account = s.scalar(select(Account))
        assert account is not None and (account.pin_failures, account.pin_locked_until) == (0, None)
    # An account that does not exist is simply wrong, and locks nothing.
    assert data.verify_pin("99999999", "0000") is Verdict.WRONG


def test_a_right_pin_resets_the_count(engine: Engine) -> None:
    add_account(engine)
    data = IvrData(db.session_factory(engine))
    for _ in range(3):
        for _ in range(MAX_FAILURES - 1):
            assert data.verify_pin("10000042", "0000") is Verdict.WRONG
        assert data.verify_pin("10000042", "4321") is Verdict.VERIFIED


@pytest.mark.expect_log(logging.WARNING, "crm.repository.agents", match="log-in of agent alice locked until")
def test_agent_login_locks_and_unlocks(engine: Engine) -> None:
    add_agent(engine)
    factory = db.session_factory(engine)
    for _ in range(MAX_FAILURES):
        with db.transaction(factory) as s:
            assert repository.authenticate_agent(s, "alice", "guess", now=NOW) is None
    with db.transaction(factory) as s:
        assert repository.authenticate_agent(s, "alice", "s3cret", now=NOW + timedelta(minutes=1)) is None
    with db.transaction(factory) as s:
        agent = repository.authenticate_agent(s, "alice", "s3cret", now=NOW + LOCK_TIME + timedelta(seconds=1))
        assert agent is not None and agent.login == "alice"
    with db.transaction(factory) as s:
        row = s.scalar(select(Agent).where(Agent.login == "alice"))
        assert row is not None and (row.login_failures, row.login_locked_until) == (0, None)


def test_an_unknown_login_takes_as_long_as_a_wrong_password(engine: Engine) -> None:
    add_agent(engine)
    factory = db.session_factory(engine)

    def timed(login: str) -> float:
        with db.transaction(factory) as s:
            start = time.perf_counter()
            assert repository.authenticate_agent(s, login, "guess", now=NOW) is None
            return time.perf_counter() - start

    timed("nobody")  # the decoy hash is made once
    known = statistics.median(timed("alice") for _ in range(3))
    unknown = statistics.median(timed("nobody") for _ in range(3))
    # Without the decoy an unknown login answers in about a hundredth of the time (no scrypt).
    assert unknown > known / 3, (known, unknown)


def test_every_seeded_secret_has_its_own_salt(engine: Engine) -> None:
    seed(engine, customers=25, random_seed=4)
    with db.session_factory(engine)() as s:
        pins = list(s.scalars(select(Account.pin_hash)))
        passwords = list(s.scalars(select(Agent.password_hash)))
        number = s.scalar(select(Account.account_number).limit(1))
        assert number is not None
        assert repository.verify_account_pin(s, number, DEMO_PIN)
    assert len(pins) >= 25 and len(set(pins)) == len(pins)
    assert len(set(passwords)) == len(passwords) > 1
    assert len({p.split("$")[4] for p in pins if p}) == len(pins)  # the salts themselves
    with db.transaction(db.session_factory(engine)) as s:
        assert repository.authenticate_agent(s, "alice", DEMO_PASSWORD) is not None
