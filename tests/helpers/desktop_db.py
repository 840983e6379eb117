"""Disposing of a test's database engine once the desktop's database jobs are over.

The desktop reads and writes on its thread pool (``agent_desktop.workers.io_pool``): a save refreshes
the 360 view, a call pops a screen. A job still running when a test disposes of its engine opens a
fresh connection on the disposed engine's new pool, which nobody closes (psycopg then warns when it
is collected, in whatever test runs at that moment).
"""

from __future__ import annotations

from sqlalchemy import Engine

from agent_desktop.workers import io_pool


def dispose_after_desktop_jobs(engine: Engine, timeout_ms: int = 10_000) -> None:
    assert io_pool().waitForDone(timeout_ms), "the desktop's database jobs end before its database goes"
    engine.dispose()
