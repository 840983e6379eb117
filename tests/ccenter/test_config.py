"""Configuration: flags over environment over the TOML file over defaults; bad files say what is wrong."""

from __future__ import annotations

import pytest

from ccenter.config import ConfigError, load_settings


def test_flag_beats_environment_beats_file(tmp_path) -> None:
    config = tmp_path / "ccenter.toml"
    config.write_text('site = "branch"\ndefault_region = "gb"\n[database]\nurl = "sqlite:///file.db"\n'
                      '[mqtt]\nurl = "mqtt://file:1883"\n')
    from_file = load_settings(config_file=config, environ={})
    assert (from_file.db_url, from_file.mqtt_url, from_file.site, from_file.default_region) == (
        "sqlite:///file.db", "mqtt://file:1883", "branch", "GB")
    from_env = load_settings(config_file=config, environ={"CCENTER_DB": "sqlite:///env.db", "CCENTER_SITE": "hq"})
    assert (from_env.db_url, from_env.site) == ("sqlite:///env.db", "hq")
    from_flag = load_settings(db="sqlite:///flag.db", config_file=config, environ={"CCENTER_DB": "sqlite:///env.db"})
    assert from_flag.db_url == "sqlite:///flag.db"
    defaults = load_settings(environ={})
    assert defaults.mqtt_url == "inproc://" and defaults.db_url.startswith("sqlite:///")


def test_desktop_reasons_dispositions_and_wrap_up_come_from_the_file(tmp_path) -> None:
    config = tmp_path / "ccenter.toml"
    config.write_text('[desktop]\nnot_ready_reasons = ["Break", "午餐"]\ndispositions = ["sold", "no_sale"]\n'
                      "wrap_up_seconds = 45\n")
    settings = load_settings(config_file=config, environ={})
    assert settings.not_ready_reasons == ("Break", "午餐") and settings.dispositions == ("sold", "no_sale")
    assert settings.wrap_up_seconds == 45.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[desktop]\ndispositions = []\n", "desktop.dispositions must be a non-empty list of names"),
        ('[desktop]\nnot_ready_reasons = ["ok", 3]\n', "desktop.not_ready_reasons must be a non-empty list"),
        ("[desktop]\nwrap_up_seconds = -1\n", "desktop.wrap_up_seconds must be a number of seconds"),
        ('desktop = "x"\n', "[desktop] must be a table"),
        ('[database]\nurl = 5\n', "database.url must be a string"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(config_file=config, environ={})


def test_a_window_needs_a_display_or_a_chosen_platform() -> None:
    import sys

    from ccenter.config import has_display

    assert has_display({"QT_QPA_PLATFORM": "offscreen"})
    if sys.platform.startswith("linux"):
        assert has_display({"DISPLAY": ":0"}) and has_display({"WAYLAND_DISPLAY": "wayland-0"})
        assert not has_display({})


def test_demo_without_a_display_says_so(monkeypatch, capsys, tmp_path) -> None:
    from ccenter.cli import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["demo", "--db", f"sqlite:///{tmp_path / 'd.db'}"]) == 1
    assert "no display to open the desktop on" in capsys.readouterr().err
