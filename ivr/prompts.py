"""A flow's prompts as audio files for the PBX (``ccenter ivr prompts FLOW DIR``).

Every prompt of a flow that names an ``audio`` file (per language, or one for all) is spoken from the
flow's own text by Debian's ``espeak-ng`` and converted by ``sox`` into what Asterisk's ``wav`` format
plays: RIFF WAVE, 8000 Hz, mono, 16-bit signed PCM. The file for audio name ``ccenter/telecom/welcome``
is ``DIR/ccenter/telecom/welcome.wav``: with ``DIR`` Asterisk's sounds directory
(``/var/lib/asterisk/sounds``), ``STREAM FILE ccenter/telecom/welcome`` finds it whatever the channel's
language (docs/ivr.md).

Text is spoken by script: runs of Chinese characters with espeak-ng's Mandarin voice (``cmn``), the
rest with the voice of the prompt's language (English for a Chinese prompt's Latin words), so a
bilingual greeting such as "Welcome to Acme Telecom. 欢迎致电Acme电信。" is read in both languages.

:func:`missing_prompts` says which of a flow's audio files a sounds directory lacks (``ccenter doctor``
uses it); :func:`generate` writes them; :func:`tools_missing` names the programs that are not installed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import IvrError
from .flow import Flow, Prompt

#: What Asterisk's ``wav`` format plays (its ``slin`` at 8 kHz in a RIFF file).
RATE = 8000
CHANNELS = 1
SAMPLE_BITS = 16
#: The programs that make the files (Debian packages of the same names).
TOOLS = ("espeak-ng", "sox")
#: espeak-ng's voice for a flow language; a language not listed is passed as it is.
VOICES = {"en": "en", "zh": "cmn"}
#: Sound file extensions Asterisk can play: any of them counts as the prompt being there.
SOUND_EXTENSIONS = ("wav", "WAV", "wav16", "sln", "sln16", "gsm", "ulaw", "alaw", "g722", "g729", "ogg")

_AUDIO_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")
# Han characters, CJK punctuation and full-width forms: spoken by the Mandarin voice.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")
_TIMEOUT_S = 60


class PromptToolsMissing(IvrError):
    """espeak-ng or sox is not installed."""


class PromptError(IvrError):
    """A prompt that cannot be made (a bad audio name, a tool that failed)."""


@dataclass(frozen=True, slots=True)
class PromptFile:
    """One audio file a flow plays: its name (as the flow writes it), the language and text it says."""

    audio: str
    language: str
    text: str
    node: str

    def path(self, directory: Path) -> Path:
        return directory / f"{self.audio}.wav"


def _prompts(value: object) -> Iterator[Prompt]:
    if isinstance(value, Prompt):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _prompts(getattr(value, f.name))
    elif isinstance(value, dict | list | tuple):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _prompts(item)


def prompt_files(flow: Flow) -> list[PromptFile]:
    """The audio files ``flow`` names, once each, with the text of the first language that plays it."""
    seen: dict[str, PromptFile] = {}
    for node in flow.nodes.values():
        for prompt in _prompts(node):
            for language in flow.languages:
                audio = prompt.audio_for(language, flow.default_language)
                if audio is None or audio in seen:
                    continue
                if not _AUDIO_NAME.fullmatch(audio) or ".." in audio.split("/"):
                    raise PromptError(f"flow {flow.name}, node {node.id}: audio name {audio!r} is not a relative "
                                      "sound file name (letters, digits, '_', '-', '.', '/')")
                seen[audio] = PromptFile(audio, language, prompt.text_for(language, flow.default_language), node.id)
    return list(seen.values())


def missing_prompts(flow: Flow, directory: str | Path) -> list[str]:
    """The audio names of ``flow`` with no sound file under ``directory`` (Asterisk's sounds directory)."""
    base = Path(directory)
    missing = []
    for prompt in prompt_files(flow):
        if not any((base / f"{prompt.audio}.{ext}").is_file() for ext in SOUND_EXTENSIONS):
            missing.append(prompt.audio)
    return missing


def tools_missing() -> list[str]:
    """The programs :func:`generate` needs that are not on the PATH."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def segments(text: str, language: str) -> list[tuple[str, str]]:
    """``text`` cut into (voice, words) runs: Chinese characters in Mandarin, the rest in ``language``'s
    voice (English when that is Chinese)."""
    other = VOICES.get(language, language)
    if other == VOICES["zh"]:
        other = VOICES["en"]
    runs: list[tuple[str, str]] = []
    position = 0
    for match in _CJK.finditer(text):
        runs.append((other, text[position:match.start()]))
        runs.append((VOICES["zh"], match.group()))
        position = match.end()
    runs.append((other, text[position:]))
    return [(voice, words.strip()) for voice, words in runs if words.strip(" \t\r\n.,;:!?-")]


def _run(argv: list[str], what: str) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise PromptError(f"{what}: {argv[0]} took more than {_TIMEOUT_S} s") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise PromptError(f"{what}: {argv[0]} failed ({detail[-1] if detail else f'status {done.returncode}'})")


def synthesize(text: str, language: str, target: Path) -> None:
    """Speak ``text`` into ``target``: WAV, 8 kHz, mono, 16-bit (written whole, then renamed into place)."""
    missing = tools_missing()
    if missing:
        raise PromptToolsMissing(
            f"making IVR prompts needs {' and '.join(TOOLS)}; not found: {', '.join(missing)} "
            "(on Debian: apt-get install espeak-ng sox)"
        )
    runs = segments(text, language)
    if not runs:
        raise PromptError(f"{target.name}: the prompt has no text to speak")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ccenter-prompt-") as tmp:
        parts = []
        for n, (voice, words) in enumerate(runs):
            words_file = Path(tmp, f"{n}.txt")
            words_file.write_text(words, encoding="utf-8")
            part = Path(tmp, f"{n}.wav")
            # The text is read from a file (-f, UTF-8 with -b 1): never an option or a shell word.
            _run(["espeak-ng", "-v", voice, "-b", "1", "-w", str(part), "-f", str(words_file)], target.name)
            parts.append(str(part))
        out = Path(tmp, "out.wav")
        _run(["sox", *parts, "-r", str(RATE), "-c", str(CHANNELS), "-b", str(SAMPLE_BITS), "-e", "signed-integer",
              str(out), "norm", "-3"], target.name)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(out, partial)
        os.replace(partial, target)


def generate(flow: Flow, directory: str | Path) -> list[tuple[PromptFile, Path]]:
    """Write every audio file ``flow`` names under ``directory``; returns what was written where."""
    files = prompt_files(flow)
    base = Path(directory)
    written = []
    for prompt in files:
        path = prompt.path(base)
        synthesize(prompt.text, prompt.language, path)
        written.append((prompt, path))
    return written
