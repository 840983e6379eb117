"""The log-failure plugin (tests/helpers/logfail.py), run on a small test file in a separate pytest."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TESTS = '''
import logging

import pytest

log = logging.getLogger("app.part")


def test_undeclared_warning_fails():
    log.warning("disk almost full")


def test_undeclared_warning_fails_even_with_caplog(caplog):
    caplog.set_level(logging.INFO)
    log.info("fine")
    log.error("something broke")
    assert "fine" in caplog.text


def test_declared_in_a_block_passes_and_caplog_sees_it(expect_log, caplog):
    with expect_log(logging.WARNING, "app", match="almost") as expected:
        log.warning("disk almost full")
    assert [r.getMessage() for r in expected.records] == ["disk almost full"]
    assert "disk almost full" in caplog.text


def test_a_block_whose_record_never_came_fails(expect_log):
    with expect_log(logging.WARNING, "app"):
        pass


def test_outside_the_block_it_is_unexpected_again(expect_log):
    with expect_log(logging.WARNING, "app"):
        log.warning("one")
    log.warning("two")


def test_other_level_logger_or_message_is_not_covered(expect_log):
    expect_log(logging.WARNING, "app.part", match="^disk", required=False)
    log.error("disk on fire")
    logging.getLogger("elsewhere").warning("disk full")
    log.warning("not a disk")


def test_declared_for_the_whole_test_passes(expect_log):
    expect_log("ERROR", "app")
    log.error("expected failure")


def test_declared_for_the_whole_test_but_never_logged_fails(expect_log):
    expect_log(logging.ERROR, "app")


@pytest.mark.expect_log(logging.WARNING, "app", match="flaky", required=False)
def test_marker_optional_record_may_not_come():
    pass


@pytest.mark.expect_log(logging.WARNING, "app", match="flaky")
def test_marker_covers_the_record():
    log.warning("a flaky peer")


@pytest.fixture
def noisy():
    yield
    log.warning("closing badly")


def test_warning_in_fixture_teardown_is_an_error(noisy):
    pass


def test_a_failing_test_is_not_reported_twice():
    log.warning("before the failure")
    assert False, "the real failure"


def test_debug_and_info_need_no_declaration(expect_log):
    log.debug("d")
    log.info("i")
    with pytest.raises(ValueError, match="needs no declaration"):
        expect_log(logging.INFO, "app")
'''

OUTCOMES = {
    "test_undeclared_warning_fails": "failed",
    "test_undeclared_warning_fails_even_with_caplog": "failed",
    "test_declared_in_a_block_passes_and_caplog_sees_it": "passed",
    "test_a_block_whose_record_never_came_fails": "failed",
    "test_outside_the_block_it_is_unexpected_again": "failed",
    "test_other_level_logger_or_message_is_not_covered": "failed",
    "test_declared_for_the_whole_test_passes": "passed",
    "test_declared_for_the_whole_test_but_never_logged_fails": "error",
    "test_marker_optional_record_may_not_come": "passed",
    "test_marker_covers_the_record": "passed",
    "test_warning_in_fixture_teardown_is_an_error": "error",
    "test_a_failing_test_is_not_reported_twice": "failed",
    "test_debug_and_info_need_no_declaration": "passed",
}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str]:
    import os
    import subprocess
    import sys

    where = tmp_path_factory.mktemp("logfail")
    (where / "conftest.py").write_text('pytest_plugins = ["tests.helpers.logfail"]\n')
    (where / "test_sample.py").write_text(TESTS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-o", "addopts=", "--rootdir", str(where),
         "-c", os.devnull, str(where)],
        capture_output=True, text=True, env=env, cwd=where, timeout=120,
    )
    results: dict[str, str] = {}
    for line in run.stdout.splitlines():
        for kind in ("PASSED", "FAILED", "ERROR"):
            prefix = f"{kind} test_sample.py::"
            if line.startswith(prefix):
                name = line[len(prefix):].split(" ")[0]
                # a test that passed its call and then errored in teardown is listed twice
                results[name] = "error" if kind == "ERROR" or results.get(name) == "error" else kind.lower()
    return results, run.stdout


@pytest.mark.parametrize(("test", "expected"), OUTCOMES.items())
def test_outcome(outcome: tuple[dict[str, str], str], test: str, expected: str) -> None:
    results, output = outcome
    assert results.get(test) == expected, output


def test_the_reports_name_the_records_and_how_to_declare_them(outcome: tuple[dict[str, str], str]) -> None:
    _, output = outcome
    assert "unexpected log records (a test declares those it means with expect_log" in output
    assert "WARNING app.part: disk almost full" in output
    assert "ERROR app.part: something broke" in output
    assert "an expected WARNING from app was never logged" in output
    assert "WARNING app.part: two" in output and "WARNING app.part: one" not in output
    assert "ERROR app.part: disk on fire" in output and "WARNING elsewhere: disk full" in output
    assert "WARNING app.part: not a disk" in output
    assert "an expected ERROR from app was never logged" in output
    assert "WARNING app.part: closing badly" in output
    assert "the real failure" in output  # ... and its warning did not add a teardown error (see OUTCOMES)
