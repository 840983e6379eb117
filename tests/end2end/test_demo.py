"""``ccenter demo --screenshots`` as a new user runs it: a real process on a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QImage


def test_demo_seeds_an_empty_database_and_saves_screenshots(tmp_path) -> None:
    shots = tmp_path / "shots"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run(
        [sys.executable, "-m", "ccenter", "demo", "--db", f"sqlite:///{tmp_path / 'demo.db'}",
         "--screenshots", str(shots)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "seeding 2,000 demo customers" in result.stderr
    names = sorted(p.name for p in shots.glob("*.png"))
    assert names == ["01-customer-360-history.png", "02-customer-360-offers.png", "03-customer-search.png"]
    assert result.stdout.split() == [str(shots / n) for n in names]
    for name in names:
        image = QImage(str(shots / name))
        assert not image.isNull() and image.width() >= 1000 and image.height() >= 600
    assert "Traceback" not in result.stderr and "propagateSizeHints" not in result.stderr
