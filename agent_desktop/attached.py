"""A call's attached data as the desktop reads, merges and corrects it (no Qt).

The IVR attaches typed values with provenance (``ccenter.attached/1``, see :mod:`ivr.attached`)::

    {"schema": "ccenter.attached/1",
     "fields": {"intent": {"value": "billing", "type": "str", "editable": true,
                           "set_by": {"kind": "ivr", "name": "main_menu"}, "at": 1764000000.0}}}

Other systems may attach a flat dictionary. An agent corrects an *editable* field: the corrected
entry says ``set_by`` the agent and keeps the first value under ``original`` (value, who, when)::

    "intent": {"value": "fault", "type": "str", "editable": true,
               "set_by": {"kind": "agent", "name": "alice"}, "at": 1764000100.0,
               "original": {"value": "billing", "set_by": {"kind": "ivr", "name": "main_menu"}, "at": 1764000000.0}}

A telephony link attaches text only (PBX variables are strings), so the correction travels through the
link as one value, the JSON of a ``ccenter.attached/1`` document holding the corrected fields, under
:data:`ATTACHED_KEY`; :func:`merge_data` unpacks it when the call's data comes back. The contact saved
at wrap-up stores the merged document, corrections and originals included.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crm.masking import mask

logger = logging.getLogger(__name__)

SCHEMA_ID = "ccenter.attached/1"
#: The key under which attached-data documents travel as text through a telephony link.
ATTACHED_KEY = "ccenter.attached"
#: Longest correction an agent may type (the field is a short value, not notes).
MAX_TEXT = 500


class CorrectionError(ValueError):
    """The value cannot be corrected as asked (not an editable field, or text of the wrong type)."""


def is_document(data: Mapping[str, Any]) -> bool:
    return data.get("schema") == SCHEMA_ID and isinstance(data.get("fields"), Mapping)


def attached_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Field name → value, whichever form the attached data came in (``ccenter.attached/1`` or flat)."""
    if is_document(data):
        return {name: entry.get("value") for name, entry in data["fields"].items() if isinstance(entry, Mapping)}
    return {k: v for k, v in data.items() if k not in ("schema", ATTACHED_KEY)}


def _unpack(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with a document carried as text under :data:`ATTACHED_KEY` read back (bad text is dropped)."""
    out = dict(data)
    packed = out.pop(ATTACHED_KEY, None)
    if packed is None:
        return out
    try:
        doc = json.loads(packed) if isinstance(packed, str) else packed
    except ValueError:
        logger.warning("attached data under %s is not JSON: dropped", ATTACHED_KEY)
        return out
    if not isinstance(doc, Mapping) or not is_document(doc):
        logger.warning("attached data under %s is not a %s document: dropped", ATTACHED_KEY, SCHEMA_ID)
        return out
    return merge_data(out, doc)


def merge_data(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The call's data after ``new`` arrived: documents merge field by field, flat keys replace."""
    old, new = _unpack(old), _unpack(new)
    if is_document(old) and is_document(new):
        fields = {**old["fields"], **new["fields"]}
        return {**old, **{k: v for k, v in new.items() if k != "fields"}, "fields": fields}
    return {**old, **new}


@dataclass(frozen=True, slots=True)
class Source:
    """Who set a value, and when (Unix time; None when not said)."""

    kind: str  # ivr, system, agent
    name: str
    at: float | None


def source(data: Mapping[str, Any], name: str) -> Source | None:
    """Who set field ``name`` (None for flat data, which says nothing about it)."""
    if not is_document(data):
        return None
    entry = data["fields"].get(name)
    if not isinstance(entry, Mapping):
        return None
    by = entry.get("set_by")
    if not isinstance(by, Mapping):
        by = {}
    at = entry.get("at")
    return Source(str(by.get("kind") or "system"), str(by.get("name") or ""),
                  float(at) if isinstance(at, int | float) and not isinstance(at, bool) else None)


def original(data: Mapping[str, Any], name: str) -> tuple[Any, Source] | None:
    """The value field ``name`` had before an agent corrected it, and who set it; None if uncorrected."""
    if not is_document(data):
        return None
    entry = data["fields"].get(name)
    first = entry.get("original") if isinstance(entry, Mapping) else None
    if not isinstance(first, Mapping):
        return None
    who = source({"schema": SCHEMA_ID, "fields": {name: first}}, name)
    return first.get("value"), who or Source("system", "", None)


#: Field types an agent can type a value of (lists and dictionaries are shown, never typed in).
TYPED = ("str", "int", "float", "bool")


def editable(data: Mapping[str, Any], name: str) -> bool:
    """Whether an agent may correct field ``name``: the schema says so and its value can be typed in."""
    if not is_document(data):
        return False
    entry = data["fields"].get(name)
    return isinstance(entry, Mapping) and entry.get("editable") is True and entry.get("type", "str") in TYPED


def _typed(kind: str, text: str) -> Any:
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise CorrectionError(f"at most {MAX_TEXT} characters")
    if kind == "str":
        return mask(text)
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise CorrectionError("a whole number is needed") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise CorrectionError("a number is needed") from None
    if kind == "bool":
        if text.lower() in ("yes", "true", "1", "y"):
            return True
        if text.lower() in ("no", "false", "0", "n"):
            return False
        raise CorrectionError("yes or no is needed")
    raise CorrectionError(f"a {kind} value cannot be typed in")


def correction(data: Mapping[str, Any], name: str, text: str, *, agent: str, at: float) -> dict[str, Any] | None:
    """The ``ccenter.attached/1`` document correcting field ``name`` to ``text``, by ``agent`` at ``at``.

    None when the value does not change. Raises :class:`CorrectionError` for a field that is not
    editable or text that does not fit its type. The first value (and who set it) is kept as ``original``.
    """
    if not editable(data, name):
        raise CorrectionError(f"{name!r} is not an editable field of this call")
    entry = data["fields"][name]
    value = _typed(str(entry.get("type", "str")), text)
    if value == entry.get("value"):
        return None
    first = entry.get("original")
    if not isinstance(first, Mapping):
        first = {"value": entry.get("value"), "set_by": entry.get("set_by"), "at": entry.get("at")}
    fields = {name: {"value": value, "type": entry.get("type", "str"), "editable": True,
                     "set_by": {"kind": "agent", "name": agent}, "at": at, "original": dict(first)}}
    return {"schema": SCHEMA_ID, "fields": fields}


def packed(document: Mapping[str, Any]) -> dict[str, str]:
    """``document`` as a telephony link attaches it: text under :data:`ATTACHED_KEY`."""
    return {ATTACHED_KEY: json.dumps(document, ensure_ascii=False, separators=(",", ":"))}
