"""Start-up stays cheap: the parser is built from light modules, each command imports its own weight.

Each case runs in a fresh interpreter (this test process has imported everything already) and
reads the names of the modules that interpreter loaded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

CAPTURE = Path(__file__).resolve().parent.parent / "fixtures" / "cti" / "ami_inbound_queue.ami"

#: What a command line that only shows help, or decodes a capture, must not pay for.
HEAVY = ("sqlalchemy", "alembic", "psycopg", "PySide6", "aiomqtt", "paho", "requests", "serial", "ivr.engine")

#: Runs ``ccenter ARGS`` for each argument list given as JSON on argv, then prints the loaded modules.
SCRIPT = """
import contextlib, io, json, sys
from ccenter.cli import main
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    if code not in (0, None):
        sys.exit(f"ccenter {' '.join(argv)} exited with {code}")
    if not out.getvalue():
        sys.exit(f"ccenter {' '.join(argv)} printed nothing")
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(*argvs: list[str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(list(argvs))], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["cti", "decode", "--help"],
        ["cti", "decode", "--protocol", "ami", str(CAPTURE)],
    ],
    ids=["help", "cti-decode-help", "cti-decode"],
)
def test_light_command_lines_import_no_heavy_library(argv: list[str]) -> None:
    modules = loaded_modules(argv)
    assert "ccenter.commands.demo" in modules, "the whole parser was built"
    assert heavy(modules) == []


def test_decoding_loads_the_codec_it_uses() -> None:
    modules = loaded_modules(["cti", "decode", "--protocol", "ami", str(CAPTURE)])
    assert "cti.ami.codec" in modules
    assert "cti.csta.codec" not in modules


def _help_command_lines(parser: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
    lines = [[*prefix, "--help"]]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                lines.extend(_help_command_lines(sub, [*prefix, name]))
    return lines


def test_every_help_page_is_light() -> None:
    from ccenter.cli import build_parser

    argvs = _help_command_lines(build_parser(), [])
    assert ["cti", "decode", "--help"] in argvs and ["campaign", "import", "--help"] in argvs
    assert heavy(loaded_modules(*argvs)) == []


def test_a_command_still_imports_what_it_needs(tmp_path: Path) -> None:
    """The guard above is no accident of a broken script: a database command does load the ORM."""
    modules = loaded_modules(["db", "upgrade", "--db", f"sqlite:///{tmp_path / 'ccenter.db'}"])
    assert "sqlalchemy" in heavy(modules)
    assert "PySide6" not in heavy(modules)
