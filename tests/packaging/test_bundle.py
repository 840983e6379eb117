"""The desktop bundle: PyInstaller analyses the spec and builds a bundle that starts.

One PyInstaller run (about two minutes on two cores) both analyses and builds. PyInstaller comes with
the ``dev`` extra (and the ``packaging`` one); under ``CI=true`` its absence is a failure, not a skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "pyinstaller" / "ccenter-desktop.spec"

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.timeout(900),
    pytest.mark.skipif(importlib.util.find_spec("PyInstaller") is None and os.environ.get("CI") != "true",
                       reason="PyInstaller is not installed (pip install -e .[packaging])"),
]


def _pyinstaller(tmp_path: Path, *, analysis_only: bool) -> dict[str, list[str]]:
    report = tmp_path / "analysis.json"
    env = {**os.environ, "CCENTER_SPEC_ANALYSIS": str(report)}
    if analysis_only:
        env["CCENTER_SPEC_ANALYSIS_ONLY"] = "1"
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR", "--distpath",
         str(tmp_path / "dist"), "--workpath", str(tmp_path / "build"), str(SPEC)],
        check=True, env=env, cwd=tmp_path, timeout=840, capture_output=True,
    )
    return json.loads(report.read_text())


def _check_analysis(found: dict[str, list[str]]) -> None:
    """What the spec gathers: every command, its data, Qt, and no test tools."""
    pure, datas, binaries = set(found["pure"]), found["datas"], found["binaries"]
    commands = {f"ccenter.commands.{p.stem}" for p in (ROOT / "ccenter" / "commands").glob("[!_]*.py")}
    assert commands <= pure, commands - pure  # the CLI finds them with pkgutil: each must be bundled
    assert {"agent_desktop.workstation", "cti.ami.client", "routing.server", "sqlalchemy.dialects.postgresql.psycopg",
            "crm.migrations.env"} <= pure | {d.removesuffix(".py").replace("/", ".") for d in datas}
    migrations = {Path(d).name for d in datas if d.startswith("crm/migrations/versions/")}
    assert {p.name for p in (ROOT / "crm" / "migrations" / "versions").glob("0*.py")} <= migrations
    assert "resources/styles/light.qss" in datas and "resources/translations/ccenter_zh_CN.qm" in datas
    assert "resources/ivr/telecom.yaml" in datas
    assert any(b.endswith("libQt6Widgets.so.6") for b in binaries) or sys.platform != "linux"
    assert not {m for m in pure if m.split(".")[0] in ("pytest", "hypothesis", "mypy", "tests", "bench")}


def test_the_bundle_gathers_everything_builds_and_starts(tmp_path: Path) -> None:
    _check_analysis(_pyinstaller(tmp_path, analysis_only=False))
    bundle = tmp_path / "dist" / "ccenter-desktop" / ("ccenter-desktop.exe" if os.name == "nt" else "ccenter-desktop")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CCENTER_CONFIG": ""}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(bundle), *argv], capture_output=True, text=True, timeout=120, env=env,
                              cwd=tmp_path)

    shown = run("--help")
    assert shown.returncode == 0 and "desktop" in shown.stdout and "doctor" in shown.stdout
    db = f"sqlite:///{tmp_path / 'bundle.db'}"
    upgraded = run("db", "upgrade", "--db", db)  # the migrations travel as files inside the bundle
    assert upgraded.returncode == 0, upgraded.stderr
    checked = run("doctor", "--db", db)
    assert "ok      database" in checked.stdout, checked.stdout + checked.stderr
