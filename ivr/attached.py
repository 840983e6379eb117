"""Attached data: what the IVR learned about a call, with a declared schema and provenance.

Every field is declared (name, type, whether an agent may edit it); every value remembers who set it
(an IVR node, the system, an agent) and when. The whole travels as the ``data`` of a bus
``CallEvent(type="call.data")``::

    {"schema": "ccenter.attached/1",
     "fields": {"language": {"value": "en", "type": "str", "editable": false,
                             "set_by": {"kind": "ivr", "name": "language_menu"}, "at": 1764000000.0},
                ...}}

Readers (the ACD, the agent desktop, the contact record) use :meth:`AttachedData.from_dict` or read
``data["fields"][name]["value"]``. Sensitive values never get here in clear: a
:class:`~ivr.sensitive.Secret` is stored in its masked form.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bus.messages import CallEvent, CallEventType
from crm.masking import mask

from .errors import AttachedDataError, NotEditable
from .sensitive import Secret, public

logger = logging.getLogger(__name__)

SCHEMA_ID = "ccenter.attached/1"


class FieldType(StrEnum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    LIST = "list"
    DICT = "dict"


class SourceKind(StrEnum):
    IVR = "ivr"
    SYSTEM = "system"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: FieldType
    editable: bool = False
    description: str = ""


#: Fields every IVR session may fill; a flow may declare more under ``attached:``.
STANDARD_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("caller", FieldType.STR, description="calling number as received"),
    FieldSpec("language", FieldType.STR, description="language the caller chose (en, zh, ...)"),
    FieldSpec("customer_id", FieldType.STR, description="identified customer"),
    FieldSpec("customer_name", FieldType.STR),
    FieldSpec("tier", FieldType.STR, description="customer tier, e.g. VIP"),
    FieldSpec("segment", FieldType.STR),
    FieldSpec("account", FieldType.STR, description="account number the caller is calling about"),
    FieldSpec("identified_by", FieldType.STR, description="phone, account or rest"),
    FieldSpec("verified", FieldType.BOOL, description="the caller passed PIN verification"),
    FieldSpec("pin_locked", FieldType.BOOL, description="the account's PIN is locked after too many wrong tries"),
    FieldSpec("intent", FieldType.STR, editable=True, description="why the caller calls: billing, fault, ..."),
    FieldSpec("menu_path", FieldType.LIST, description="menu choices, in order, as node:label"),
    FieldSpec("self_service", FieldType.LIST, description="what self-service already told the caller"),
    FieldSpec("time_in_ivr_s", FieldType.FLOAT, description="seconds from IVR start to hand-off"),
    FieldSpec("callback_number", FieldType.STR, editable=True),
    FieldSpec("notes", FieldType.STR, editable=True, description="free text, for agents"),
)


def _type_ok(kind: FieldType, value: Any) -> bool:
    if kind is FieldType.BOOL:
        return isinstance(value, bool)
    if kind is FieldType.INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is FieldType.FLOAT:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is FieldType.STR:
        return isinstance(value, str)
    if kind is FieldType.LIST:
        return isinstance(value, list | tuple)
    return isinstance(value, Mapping)


@dataclass(frozen=True, slots=True)
class Schema:
    fields: Mapping[str, FieldSpec]

    @classmethod
    def standard(cls, extra: tuple[FieldSpec, ...] = ()) -> Schema:
        fields = {f.name: f for f in STANDARD_FIELDS}
        for spec in extra:
            fields[spec.name] = spec
        return cls(fields)

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` as stored (secrets masked, tuples as lists), or raise AttachedDataError."""
        spec = self.fields.get(name)
        if spec is None:
            raise AttachedDataError(f"{name!r} is not a field of the attached-data schema")
        if isinstance(value, Secret):
            value = value.masked()
            if spec.type is not FieldType.STR:
                raise AttachedDataError(f"field {name!r} cannot hold a masked value")
        if not _type_ok(spec.type, value):
            raise AttachedDataError(f"field {name!r} takes {spec.type.value}, not {type(value).__name__}")
        if spec.type is FieldType.FLOAT:
            value = float(value)
        return mask(public(value) if isinstance(value, list | tuple | Mapping) else value)


@dataclass(frozen=True, slots=True)
class Provenance:
    kind: SourceKind
    name: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "name": self.name}


@dataclass(frozen=True, slots=True)
class AttachedValue:
    value: Any
    provenance: Provenance


@dataclass(slots=True)
class AttachedData:
    """The attached data of one call: typed values with provenance."""

    schema: Schema = field(default_factory=Schema.standard)
    _values: dict[str, AttachedValue] = field(default_factory=dict)

    def set(self, name: str, value: Any, *, kind: SourceKind, by: str, at: float) -> None:
        stored = self.schema.check(name, value)
        self._values[name] = AttachedValue(stored, Provenance(kind, by, at))

    def edit(self, name: str, value: Any, *, agent_id: str, at: float) -> None:
        """An agent's change: only fields the schema declares editable."""
        spec = self.schema.fields.get(name)
        if spec is None or not spec.editable:
            raise NotEditable(f"agents cannot edit attached field {name!r}")
        self.set(name, value, kind=SourceKind.AGENT, by=agent_id, at=at)
        logger.info("attached field %s edited by agent %s", name, agent_id)

    def get(self, name: str, default: Any = None) -> Any:
        item = self._values.get(name)
        return default if item is None else item.value

    def provenance(self, name: str) -> Provenance | None:
        item = self._values.get(name)
        return None if item is None else item.provenance

    def values(self) -> dict[str, Any]:
        return {name: item.value for name, item in self._values.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def to_dict(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, item in self._values.items():
            spec = self.schema.fields[name]
            fields[name] = {
                "value": item.value,
                "type": spec.type.value,
                "editable": spec.editable,
                "set_by": item.provenance.to_dict(),
                "at": item.provenance.at,
            }
        return {"schema": SCHEMA_ID, "fields": fields}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AttachedData:
        """Read back what :meth:`to_dict` wrote (for the desktop, the ACD and the contact record)."""
        if data.get("schema") != SCHEMA_ID:
            raise AttachedDataError(f"unsupported attached-data schema {data.get('schema')!r}")
        raw = data.get("fields")
        if not isinstance(raw, Mapping):
            raise AttachedDataError("attached data has no 'fields' object")
        specs: list[FieldSpec] = []
        for name, entry in raw.items():
            try:
                specs.append(FieldSpec(name, FieldType(entry["type"]), bool(entry.get("editable", False))))
            except (KeyError, TypeError, ValueError):
                raise AttachedDataError(f"attached field {name!r} is malformed") from None
        attached = cls(Schema.standard(tuple(specs)))
        for name, entry in raw.items():
            by = entry.get("set_by") or {}
            try:
                kind = SourceKind(by.get("kind", "system"))
                at = float(entry.get("at", 0.0))
            except (TypeError, ValueError):
                raise AttachedDataError(f"attached field {name!r} has bad provenance") from None
            attached.set(name, entry.get("value"), kind=kind, by=str(by.get("name", "")), at=at)
        return attached

    def to_call_event(
        self,
        call_id: str,
        ts: float,
        *,
        queue: str | None = None,
        priority: int | None = None,
        calling: str | None = None,
    ) -> CallEvent:
        """The ``call.data`` event that publishes this attached data.

        With a hand-off, ``queue`` and ``priority`` also travel as ``data["routing"]`` (and the event's
        ``queue``): that is the ACD's request.
        """
        data = self.to_dict()
        if queue is not None:
            data["routing"] = {"queue": queue, "priority": priority or 0}
        return CallEvent(
            type=CallEventType.DATA.value,
            call_id=call_id,
            ts=ts,
            calling=calling,
            queue=queue,
            data=data,
        )
