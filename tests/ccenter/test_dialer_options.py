"""``ccenter dialer --no-disposition-after``: the bound after which an answered call never wrapped up is closed."""

from __future__ import annotations

import pytest

from ccenter.cli import main


@pytest.mark.parametrize("bad", ["0", "soon", "-5"])
def test_a_bound_that_is_no_duration_is_one_clear_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["dialer", "--no-disposition-after", bad])
    assert exit_.value.code == 2
    assert f"{bad!r} is not a duration" in capsys.readouterr().err


def test_the_bound_is_documented_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["dialer", "--help"])
    assert "--no-disposition-after" in capsys.readouterr().out
