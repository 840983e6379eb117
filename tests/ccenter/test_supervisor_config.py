"""The supervisor's thresholds come from the configuration file; a bad one is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_desktop.supervisor_tiles import Limit
from ccenter.commands.desktop import supervisor_thresholds
from ccenter.config import ConfigError, load_settings


def test_thresholds_from_the_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / "ccenter.toml"
    path.write_text('[supervisor.thresholds]\nwaiting = {amber = 2, red = 4}\nservice_level_margin = 0.05\n')
    thresholds = supervisor_thresholds(load_settings(config_file=path, environ={}))
    assert thresholds.waiting == Limit(2, 4) and thresholds.service_level_margin == 0.05
    assert thresholds.asa_s == Limit(20, 40)  # the defaults for what is not given
    assert supervisor_thresholds(load_settings(environ={})).waiting == Limit(5, 10)


@pytest.mark.parametrize(("text", "error"), [
    ("[supervisor.thresholds]\nwaiting = {amber = 4, red = 2}\n", "supervisor.thresholds.waiting: red must be above"),
    ("[supervisor]\ncolours = 1\n", r"\[supervisor\] holds only a thresholds table"),
])
def test_a_bad_threshold_names_its_key(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "ccenter.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=error):
        supervisor_thresholds(load_settings(config_file=path, environ={}))
