"""README.md as a new user reads it: every example of its first steps works as written, on a fresh
home folder (SQLite in the data folder), its tables render, and its links stay in the repository."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: What an example says when it is meant to find something wrong (the others exit 0 and say no error).
EXPECTED_TO_COMPLAIN = {"ccenter doctor#1": (1, "BROKEN  database  no database at")}


def first_steps() -> list[str]:
    section = README.split("### First steps", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "README's first steps have no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_every_first_step_of_the_readme_works_as_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCENTER_")}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        QT_QPA_PLATFORM="offscreen",
    )
    steps = first_steps()
    assert len(steps) >= 10
    seen: dict[str, int] = {}
    for line in steps:
        command = shlex.join(shlex.split(line, comments=True))
        assert command.startswith("ccenter "), line
        seen[command] = seen.get(command, 0) + 1
        status, message = EXPECTED_TO_COMPLAIN.get(f"{command}#{seen[command]}", (0, ""))
        done = subprocess.run(
            ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL,
        )
        where = f"README example {line!r}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, where
        assert done.stdout.strip(), where
        if status:
            assert done.returncode == status and message in done.stdout, where
        else:
            assert done.returncode == 0 and "error:" not in done.stderr, where
            assert "BROKEN" not in done.stdout, where
    assert (home / ".local" / "share" / "ccenter" / "ccenter.db").exists()


def test_every_table_of_the_readme_is_one_block() -> None:
    """A blank line inside a Markdown table ends it: the rows after it render as raw pipes."""
    lines = README.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("|") and not lines[n - 1].strip() and n >= 2 and lines[n - 2].startswith("|"):
            pytest.fail(f"README.md:{n + 1}: a blank line splits the table above it")
    tables = [n for n, line in enumerate(lines) if line.startswith("|") and not lines[n - 1].startswith("|")]
    for n in tables:
        assert re.fullmatch(r"\|( --- \|)+", lines[n + 1]), f"README.md:{n + 1}: a table without its header row"


DOCS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", DOCS)
def test_links_point_to_files_of_the_repository(doc: str) -> None:
    path = ROOT / doc
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+://", target):
            continue
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{doc}: link to {target}"
