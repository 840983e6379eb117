"""``ccenter dnc add|remove|import|list`` as an operations team runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccenter.cli import main


def test_add_list_import_and_remove(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dnc", "add", "(415) 555-0100", "+86 138 0013 8000", "--reason", "asked by letter",
                 "--db", db_url]) == 0
    assert capsys.readouterr().out.strip() == "listed 2 number(s), 2 new: +14155550100, +8613800138000"
    registry = tmp_path / "national.txt"
    registry.write_text("4155550100\n4155550101\nnot a number\n", encoding="utf-8")
    assert main(["dnc", "import", str(registry), "--source", "national-2025-03", "--db", db_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"imported {registry} as national-2025-03: 3 lines; 1 added, 1 already listed"
    assert out[1] == f"rejected: 1, written to {tmp_path / 'national.rejects.csv'}"
    assert out[2].startswith("  line 3: ")
    assert main(["dnc", "list", "--db", db_url]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(r[0], r[1], r[4]) for r in rows] == [("+14155550100", "manual", "asked by letter"),
                                                 ("+14155550101", "national-2025-03", ""),
                                                 ("+8613800138000", "manual", "asked by letter")]
    assert main(["dnc", "list", "--count", "--source", "national-2025-03", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip() == "1"
    assert main(["dnc", "list", "--prefix", "+86", "--db", db_url]) == 0
    assert capsys.readouterr().out.startswith("+8613800138000\t")
    assert main(["dnc", "remove", "--source", "national-2025-03", "415 555 0100", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip() == "removed 2 entries"
    assert main(["dnc", "list", "--count", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip() == "1"


def test_bad_input_is_one_clear_line(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dnc", "add", "12345", "--db", db_url]) == 1
    assert capsys.readouterr().err.strip() == "ccenter: error: not a valid phone number in US: '12345'"
    assert main(["dnc", "remove", "--db", db_url]) == 2
    assert "give the numbers to remove" in capsys.readouterr().err
    junk = tmp_path / "junk.txt"
    junk.write_text("12\n34\n", encoding="utf-8")
    assert main(["dnc", "import", str(junk), "--source", "x", "--db", db_url]) == 1
    assert "no line held a usable number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["dnc", "add", "+14155550100", "--expires", "2025-13-01", "--db", db_url])
    assert "is not a date" in capsys.readouterr().err
