"""``ccenter ivr prompts``: the shipped flows' prompts as 8 kHz mono 16-bit WAV files for Asterisk."""

from __future__ import annotations

import os
import wave
from pathlib import Path
from typing import Any

import pytest
import yaml

import resources
from ccenter.cli import main
from ccenter.commands.ivr import resolve_flow
from ivr.flow import load_flow
from ivr.prompts import PromptError, missing_prompts, prompt_files, segments, tools_missing

SHIPPED = sorted(resources.path("ivr").glob("*.yaml"))

needs_tools = pytest.mark.skipif(
    bool(tools_missing()) and os.environ.get("CI") != "true",
    reason="espeak-ng and sox are not installed (scripts/bootstrap installs them)",
)


def audio_names(node: Any) -> set[str]:
    """Every ``audio`` a flow file names, read from its YAML (not through the flow loader)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "audio":
                found |= set(value.values()) if isinstance(value, dict) else {value}
            else:
                found |= audio_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= audio_names(item)
    return found


@needs_tools
@pytest.mark.parametrize("flow_file", SHIPPED, ids=lambda p: p.stem)
def test_the_shipped_flows_prompts_are_made_as_asterisk_wav_files(
    flow_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sounds = tmp_path / "sounds"
    assert main(["ivr", "prompts", str(flow_file), str(sounds)]) == 0
    written = capsys.readouterr().out.splitlines()
    named = audio_names(yaml.safe_load(flow_file.read_text(encoding="utf-8")))
    assert named and len(written) == len(named)
    for audio in named:
        path = sounds / f"{audio}.wav"
        assert path.is_file(), f"{audio} is named by {flow_file.name} but was not made"
        with wave.open(str(path)) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getcomptype()) == (
                8000, 1, 2, "NONE")
            assert wav.getnframes() > 8000 * 0.5, f"{audio}: less than half a second of speech"
    assert missing_prompts(load_flow(flow_file), sounds) == []
    assert main(["ivr", "prompts", str(flow_file), str(sounds), "--check"]) == 0


@needs_tools
def test_chinese_prompts_are_spoken_in_mandarin_and_longer_text_makes_longer_files(tmp_path: Path) -> None:
    assert main(["ivr", "prompts", "telecom", str(tmp_path)]) == 0
    frames = {}
    for name in ("en/main-menu", "zh/main-menu", "en/ask-pin"):
        with wave.open(str(tmp_path / "ccenter" / "telecom" / f"{name}.wav")) as wav:
            frames[name] = wav.getnframes()
    assert frames["en/main-menu"] > frames["en/ask-pin"] * 2  # seven options against one sentence
    assert frames["zh/main-menu"] > 8000 * 5  # the Chinese text is spoken, not skipped


def test_check_lists_what_a_sounds_directory_lacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = resolve_flow("telecom")
    assert len(missing_prompts(flow, tmp_path)) == len(prompt_files(flow)) == 8
    (tmp_path / "ccenter" / "telecom").mkdir(parents=True)
    (tmp_path / "ccenter" / "telecom" / "welcome.gsm").write_bytes(b"\0")  # any format Asterisk plays counts
    assert "ccenter/telecom/welcome" not in missing_prompts(flow, tmp_path)
    assert main(["ivr", "prompts", "telecom", str(tmp_path), "--check"]) == 1
    captured = capsys.readouterr()
    assert f"missing: {tmp_path}/ccenter/telecom/zh/main-menu.wav" in captured.out.splitlines()
    assert "7 prompts of flow telecom are missing" in captured.err


def test_without_espeak_ng_and_sox_the_command_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither program can be found
    assert main(["ivr", "prompts", "telecom", str(tmp_path / "sounds")]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "espeak-ng" in err and "sox" in err and "apt-get install espeak-ng sox" in err
    assert not (tmp_path / "sounds" / "ccenter").exists()


def test_an_audio_name_outside_the_sounds_directory_is_refused(tmp_path: Path) -> None:
    flow_file = tmp_path / "evil.yaml"
    flow_file.write_text(
        "flow: evil\nlanguages: [en]\nstart: hi\nfallback: bye\nnodes:\n"
        "  hi: {type: play, prompt: {en: Hello, audio: ../../etc/cron.d/x}, next: bye}\n"
        "  bye: {type: hangup}\n",
        encoding="utf-8",
    )
    with pytest.raises(PromptError, match=r"node hi: audio name '../../etc/cron.d/x' is not a relative"):
        prompt_files(load_flow(flow_file))


def test_mixed_text_is_cut_by_script() -> None:
    assert segments("Welcome to Acme Telecom. 欢迎致电Acme电信。", "en") == [
        ("en", "Welcome to Acme Telecom."), ("cmn", "欢迎致电"), ("en", "Acme"), ("cmn", "电信。")]
    assert segments("请输入您的8位账号。", "zh") == [("cmn", "请输入您的"), ("en", "8"), ("cmn", "位账号。")]
