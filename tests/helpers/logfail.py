"""A WARNING or worse in the log fails the test, unless the test declared it.

The idea is qutebrowser's ``logfail`` plugin: a handler on the root logger sees every record of
WARNING and above while a test runs. A record that the test did not declare fails the test (at the
end of its call, or in its teardown for records logged there), whether or not the test also takes
``caplog``: taking ``caplog`` to assert on one warning does not let others pass unseen. ``caplog``
still gets every record as usual.

Declaring what a test expects, narrowest first:

``with expect_log(logging.WARNING, "cti.ami.client", match="reconnecting"):``
    records of exactly that level, from that logger or below it, whose message matches the regular
    expression (``re.search``), are expected inside the block; leaving the block without one fails.
``expect_log(logging.ERROR, "bus.transport")``
    the same for the rest of the test (and its teardown); the test fails if none came.
``@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match="lost", required=False)``
    the same for the whole test, set up before its fixtures; ``required=False`` (also for the two
    above) for a record that may or may not come, such as one that depends on timing.

``expect_log`` returns the declaration; its ``records`` are the records it matched.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

import pytest

MIN_LEVEL = logging.WARNING


@dataclass
class Expectation:
    """Records of one level, from one logger (and its children), whose message matches."""

    level: int
    logger: str | None = None
    match: str | None = None
    required: bool = True
    records: list[logging.LogRecord] = field(default_factory=list)
    _owner: LogFail | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.level, str):
            self.level = logging.getLevelNamesMapping()[self.level.upper()]
        if self.level < MIN_LEVEL:
            raise ValueError(f"only WARNING and worse fail a test: expecting {logging.getLevelName(self.level)} "
                             "needs no declaration (use caplog to assert on it)")
        self._pattern = re.compile(self.match) if self.match is not None else None

    def covers(self, record: logging.LogRecord) -> bool:
        if record.levelno != self.level:
            return False
        if self.logger is not None and record.name != self.logger and not record.name.startswith(self.logger + "."):
            return False
        return self._pattern is None or self._pattern.search(record.getMessage()) is not None

    def describe(self) -> str:
        where = f" from {self.logger}" if self.logger else ""
        what = f" matching {self.match!r}" if self.match is not None else ""
        return f"{logging.getLevelName(self.level)}{where}{what}"

    def unmet(self) -> str | None:
        if self.required and not self.records:
            return f"an expected {self.describe()} was never logged"
        return None

    # -- as a context manager: expected only inside the block ------------------------------------
    def __enter__(self) -> Expectation:
        assert self._owner is not None
        self._owner.scoped.append(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._owner is not None
        self._owner.scoped.remove(self)
        if self in self._owner.whole_test:  # declared by the call, then used as a block: the block decides
            self._owner.whole_test.remove(self)
        if exc_type is None and (problem := self.unmet()) is not None:
            pytest.fail(problem, pytrace=False)


class ExpectLog(Protocol):
    """The ``expect_log`` fixture: declares records a test expects (see the module docstring)."""

    def __call__(
        self, level: int | str, logger: str | None = None, match: str | None = None, *, required: bool = True
    ) -> Expectation: ...


def _format(record: logging.LogRecord) -> str:
    return f"{record.levelname} {record.name}: {record.getMessage()}"


class LogFail(logging.Handler):
    """The root handler of one test: sorts WARNING-and-worse records into expected and unexpected."""

    def __init__(self) -> None:
        super().__init__(MIN_LEVEL)
        self.scoped: list[Expectation] = []
        self.whole_test: list[Expectation] = []
        self.unexpected: list[logging.LogRecord] = []
        self._reported = 0
        self._guard = threading.Lock()
        self._root_level = logging.getLogger().level

    def expect(self, level: int | str, logger: str | None = None, match: str | None = None, *,
               required: bool = True) -> Expectation:
        expectation = Expectation(level, logger, match, required, _owner=self)
        self.whole_test.append(expectation)
        return expectation

    def emit(self, record: logging.LogRecord) -> None:
        with self._guard:
            for expectation in [*reversed(self.scoped), *self.whole_test]:
                if expectation.covers(record):
                    expectation.records.append(record)
                    return
            self.unexpected.append(record)

    def install(self) -> None:
        logging.getLogger().addHandler(self)

    def uninstall(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._root_level)  # a test that ran the command line (which sets the level) leaves no trace

    def take_unreported(self) -> list[logging.LogRecord]:
        with self._guard:
            new, self._reported = self.unexpected[self._reported:], len(self.unexpected)
        return new

    def problems(self, records: list[logging.LogRecord], *, final: bool) -> Iterator[str]:
        if records:
            lines = "\n".join(f"  {_format(r)}" for r in records)
            yield (f"unexpected log records (a test declares those it means with expect_log, "
                   f"see tests/helpers/logfail.py):\n{lines}")
        if final:
            for expectation in self.whole_test:
                if (problem := expectation.unmet()) is not None:
                    yield problem


_KEY = pytest.StashKey[LogFail]()
_PASSED = pytest.StashKey[dict[str, bool]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "expect_log(level, logger=None, match=None, required=True): the test expects log records of that level "
        "(WARNING or worse) from that logger, with a message matching the regular expression "
        "(tests/helpers/logfail.py)",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> object:
    logfail = LogFail()
    for marker in item.iter_markers("expect_log"):
        logfail.expect(*marker.args, **marker.kwargs)
    item.stash[_KEY] = logfail
    logfail.install()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    logfail = item.stash.get(_KEY, None)
    try:
        result = yield
    except BaseException:
        if logfail is not None:
            logfail.take_unreported()  # the test failed already; its log is in the report
        raise
    if logfail is not None:
        problems = list(logfail.problems(logfail.take_unreported(), final=False))
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    logfail = item.stash.get(_KEY, None)
    try:
        result = yield
    finally:
        if logfail is not None:
            logfail.uninstall()
    if logfail is not None:
        passed = all(item.stash.get(_PASSED, {"setup": False}).values())
        problems = list(logfail.problems(logfail.take_unreported(), final=passed))
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if report.when in ("setup", "call"):
        item.stash.setdefault(_PASSED, {})[report.when] = report.passed
    return report


@pytest.fixture
def expect_log(request: pytest.FixtureRequest) -> ExpectLog:
    """Declare log records of WARNING and worse this test expects (see the module docstring)."""
    return request.node.stash[_KEY].expect
