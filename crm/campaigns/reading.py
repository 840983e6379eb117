"""Reading campaign files: bytes from a path or a file, and their encoding (UTF-8, GB18030, Big5)."""

from __future__ import annotations

import codecs
import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import CrmError

Source = str | os.PathLike[str] | IO[bytes]


class CampaignFileError(CrmError):
    """A plan or target file that cannot be read or breaks a rule; nothing of it was written."""


@dataclass(frozen=True, slots=True)
class _Text:
    name: str  # for messages
    path: Path | None  # where it is on disk (for the reject file and a plan's target CSV)
    text: str
    encoding: str


def _read_source(source: Source) -> tuple[str, Path | None, bytes]:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            return path.name, path, path.read_bytes()
        except FileNotFoundError:
            raise CampaignFileError(f"no such file: {path}") from None
        except IsADirectoryError:
            raise CampaignFileError(f"{path} is a folder, not a file") from None
        except OSError as exc:
            raise CampaignFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    name = getattr(source, "name", None)
    where = Path(name) if isinstance(name, str) and name and not name.startswith("<") else None
    return (where.name if where else "<input>"), where, source.read()


def _share_outside_gb2312(text: str) -> float:
    """Of the text's non-ASCII characters, the share outside GB2312 (the common simplified set)."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return 0.0
    outside = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            outside += 1
    return outside / len(wide)


def decode(data: bytes, name: str = "<input>") -> tuple[str, str]:
    """The text of a whole file and the encoding it was read in: ``utf-8``, ``utf-8-sig`` (with BOM),
    ``gb18030`` or ``big5``; raises :class:`CampaignFileError` when it is none of them.

    UTF-8 is tried first, then GB18030, then Big5. Almost every Big5 byte pair is also a valid GBK
    pair, so when both readings succeed, the GB18030 one wins only if it reads as common simplified
    Chinese (mostly inside GB2312); Big5 text read as GBK falls mostly outside it.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise CampaignFileError(f"{name}: starts with a UTF-8 BOM but byte {exc.start} is not UTF-8") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CampaignFileError(f"{name}: UTF-16 is not supported; save it as UTF-8, GB18030 or Big5")
    with contextlib.suppress(UnicodeDecodeError):
        return data.decode("utf-8"), "utf-8"
    readings: dict[str, str] = {}
    for encoding in ("gb18030", "big5"):
        with contextlib.suppress(UnicodeDecodeError):
            readings[encoding] = data.decode(encoding)
    if "gb18030" in readings and ("big5" not in readings or _share_outside_gb2312(readings["gb18030"]) < 0.2):
        return readings["gb18030"], "gb18030"
    if "big5" in readings:
        return readings["big5"], "big5"
    raise CampaignFileError(f"{name}: cannot tell its encoding (not UTF-8, GB18030 or Big5)")


def _load(source: Source) -> _Text:
    name, path, data = _read_source(source)
    text, encoding = decode(data, name)
    return _Text(name, path, text, encoding)


def _parse_json(loaded: _Text) -> Any:
    try:
        return json.loads(loaded.text)
    except json.JSONDecodeError as exc:
        raise CampaignFileError(f"{loaded.name}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
