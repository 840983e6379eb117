"""IVR flows as data: the model, the YAML loader and the validation.

A flow file names its ``start`` node, a ``fallback`` node (where any dead end goes: it must transfer,
request a callback or hang up), its languages, optional extra ``attached`` fields, and ``nodes``.
Every problem is refused at load with :class:`~ivr.errors.FlowError`, which says the file, the line
and the reason: unknown node type or field, a field of the wrong type, an exit to a node that does not
exist, a missing exit, an unreachable node, a sensitive value used where it could leak.
See ``docs/ivr.md`` for the format.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import yaml

from .attached import AttachedDataError, FieldSpec, FieldType, Schema
from .errors import FlowError
from .sensitive import MaskStyle

logger = logging.getLogger(__name__)

VAR_RE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
TEMPLATE_RE = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
NODE_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
DTMF = frozenset("0123456789*#")
#: Variables every session starts with.
BUILTIN_VARS = frozenset({"caller", "called", "call_id", "language"})


class NodeType(StrEnum):
    PLAY = "play"
    MENU = "menu"
    COLLECT = "collect"
    LOOKUP = "lookup"
    CONDITION = "condition"
    SET = "set"
    SELFSERVICE = "selfservice"
    TRANSFER = "transfer"
    CALLBACK = "callback"
    HANGUP = "hangup"


TERMINAL_TYPES = frozenset({NodeType.TRANSFER, NodeType.CALLBACK, NodeType.HANGUP})


class LookupKind(StrEnum):
    PHONE = "phone"
    ACCOUNT = "account"
    PIN = "pin"
    REST = "rest"


class SelfService(StrEnum):
    BALANCE = "balance"
    LAST_BILL = "last_bill"
    ORDER_STATUS = "order_status"
    SR_STATUS = "sr_status"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    EXISTS = "exists"


# ---------------------------------------------------------------------------------------------
# Model


def json_path(body: Mapping[str, Any], path: str) -> Any:
    """``body["a"]["b"]`` for ``"a.b"``; None when any step is missing."""
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True, slots=True)
class Prompt:
    """What to say: a text per language, and optionally the audio file the PBX plays for it."""

    texts: Mapping[str, str]
    audio: Mapping[str, str] = field(default_factory=dict)

    def text_for(self, language: str, default: str) -> str:
        return self.texts.get(language) or self.texts.get(default) or next(iter(self.texts.values()), "")

    def audio_for(self, language: str, default: str) -> str | None:
        return self.audio.get(language) or self.audio.get("*") or self.audio.get(default)

    def variables(self) -> set[str]:
        return {name for text in self.texts.values() for name in TEMPLATE_RE.findall(text)}


def _compare(op: Op, actual: Any, expected: Any) -> bool:
    if op is Op.EQ:
        return bool(actual == expected)
    if op is Op.NE:
        return bool(actual != expected)
    if op is Op.IN:
        return actual in expected
    if op is Op.NOT_IN:
        return actual not in expected
    try:
        if op is Op.LT:
            return bool(actual < expected)
        if op is Op.LE:
            return bool(actual <= expected)
        if op is Op.GT:
            return bool(actual > expected)
        return bool(actual >= expected)
    except TypeError:
        return False


@dataclass(frozen=True, slots=True)
class Clause:
    var: str
    op: Op
    value: Any

    def test(self, variables: Mapping[str, Any]) -> bool:
        present = variables.get(self.var) is not None
        if self.op is Op.EXISTS:
            return present is bool(self.value)
        if not present:
            return self.op in (Op.NE, Op.NOT_IN)
        return _compare(self.op, variables[self.var], self.value)


@dataclass(frozen=True, slots=True)
class Condition:
    """All clauses must hold (an empty condition always holds)."""

    clauses: tuple[Clause, ...]

    def test(self, variables: Mapping[str, Any]) -> bool:
        return all(clause.test(variables) for clause in self.clauses)


@dataclass(frozen=True, slots=True)
class Ref:
    """An exit of a node: which field, to which node, on which line."""

    label: str
    target: str
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    TYPE: ClassVar[NodeType]
    id: str
    line: int
    refs: tuple[Ref, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayNode(Node):
    TYPE: ClassVar[NodeType] = NodeType.PLAY
    prompt: Prompt
    next: str


@dataclass(frozen=True, slots=True)
class MenuOption:
    digit: str
    next: str
    label: str
    set: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class InputNode(Node):
    """A node that waits for the caller: menu or collect."""

    prompt: Prompt
    retries: int = 2
    timeout_s: float = 5.0
    invalid: Prompt | None = None
    no_input: Prompt | None = None
    on_failure: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuNode(InputNode):
    TYPE: ClassVar[NodeType] = NodeType.MENU
    options: Mapping[str, MenuOption]


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectNode(InputNode):
    TYPE: ClassVar[NodeType] = NodeType.COLLECT
    var: str
    next: str
    min_length: int = 1
    max_length: int = 20
    terminator: str | None = "#"
    inter_digit_timeout_s: float = 3.0
    sensitive: bool = False
    mask: MaskStyle = MaskStyle.FULL


@dataclass(frozen=True, slots=True, kw_only=True)
class LookupNode(Node):
    TYPE: ClassVar[NodeType] = NodeType.LOOKUP
    by: LookupKind
    input: str
    account_var: str = "account"
    url: str | None = None
    timeout_s: float = 3.0
    map: Mapping[str, str] = field(default_factory=dict)
    found: str
    not_found: str
    error: str | None = None
    retries: int = 0
    retry: str | None = None
    invalid: Prompt | None = None
    #: PIN look-ups: said when the account's PIN is locked after too many wrong tries (then ``not_found``).
    locked: Prompt | None = None


@dataclass(frozen=True, slots=True)
class Branch:
    when: Condition
    next: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionNode(Node):
    TYPE: ClassVar[NodeType] = NodeType.CONDITION
    branches: tuple[Branch, ...]
    otherwise: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetNode(Node):
    TYPE: ClassVar[NodeType] = NodeType.SET
    values: Mapping[str, Any]
    next: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfServiceNode(Node):
    TYPE: ClassVar[NodeType] = NodeType.SELFSERVICE
    service: SelfService
    requires_verified: bool = True
    prompt: Prompt | None = None
    next: str
    unavailable: str | None = None


@dataclass(frozen=True, slots=True)
class PriorityRule:
    when: Condition
    add: int = 0
    at_least: int | None = None

    def apply(self, priority: int) -> int:
        priority += self.add
        if self.at_least is not None:
            priority = max(priority, self.at_least)
        return priority


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferNode(Node):
    TYPE: ClassVar[NodeType] = NodeType.TRANSFER
    queue: str
    priority: int = 0
    priority_rules: tuple[PriorityRule, ...] = ()
    prompt: Prompt | None = None

    def priority_for(self, variables: Mapping[str, Any]) -> int:
        priority = self.priority
        for rule in self.priority_rules:
            if rule.when.test(variables):
                priority = rule.apply(priority)
        return priority


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackNode(Node):
    TYPE: ClassVar[NodeType] = NodeType.CALLBACK
    queue: str
    number_var: str = "caller"
    priority: int = 0
    prompt: Prompt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HangupNode(Node):
    TYPE: ClassVar[NodeType] = NodeType.HANGUP
    prompt: Prompt | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    file: str
    start: str
    fallback: str
    languages: tuple[str, ...]
    default_language: str
    nodes: Mapping[str, Node]
    schema: Schema
    sensitive_vars: Mapping[str, MaskStyle]
    description: str = ""

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]


# ---------------------------------------------------------------------------------------------
# YAML with line numbers


class _LineDict(dict[Any, Any]):
    """A mapping that remembers its line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _DuplicateKey(Exception):
    def __init__(self, line: int, key: object) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.line = line


#: How deep mappings and lists may nest in a flow file (a real flow needs about six levels).
MAX_YAML_DEPTH = 32


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(f"nested deeper than {MAX_YAML_DEPTH} levels")
        self.line = line


class _Loader(yaml.SafeLoader):
    """Safe YAML that remembers lines and refuses nesting deeper than :data:`MAX_YAML_DEPTH`."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise _DuplicateKey(key_node.start_mark.line + 1, key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_of(mapping: Any, key: str | None = None) -> int:
    if isinstance(mapping, _LineDict):
        if key is not None and key in mapping.key_lines:
            return mapping.key_lines[key]
        return mapping.line
    return 0


# ---------------------------------------------------------------------------------------------
# Parsing


class _Fields:
    """Typed access to one YAML mapping; remembers which keys were read so the rest can be refused."""

    def __init__(self, parser: _Parser, raw: _LineDict, where: str) -> None:
        self.p = parser
        self.raw = raw
        self.where = where
        self.used: set[str] = set()
        self.refs: list[Ref] = []

    def line(self, key: str | None = None) -> int:
        return _line_of(self.raw, key)

    def fail(self, key: str | None, reason: str) -> FlowError:
        return self.p.error(self.line(key), f"{self.where}: {reason}")

    def has(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str) -> Any:
        self.used.add(key)
        return self.raw.get(key)

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                raise self.fail(None, f"'{key}' is missing")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(key, f"'{key}' must be a string")
        return str(value)

    def req_string(self, key: str) -> str:
        value = self.string(key, required=True)
        assert value is not None
        return value

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"'{key}' must be a whole number")
        if value < minimum:
            raise self.fail(key, f"'{key}' must be at least {minimum}")
        return value

    def number(self, key: str, default: float) -> float:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, f"'{key}' must be a number")
        if value <= 0:
            raise self.fail(key, f"'{key}' must be greater than 0")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"'{key}' must be true or false")
        return value

    def var(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.string(key, default, required=required)
        if value is not None and not VAR_RE.match(value):
            raise self.fail(key, f"'{key}': {value!r} is not a variable name (lowercase, digits, _ and .)")
        return value

    def choice(self, key: str, enum: type[StrEnum], default: StrEnum | None = None) -> Any:
        value = self.string(key)
        if value is None:
            if default is None:
                raise self.fail(None, f"'{key}' is missing (one of {', '.join(e.value for e in enum)})")
            return default
        try:
            return enum(value)
        except ValueError:
            raise self.fail(key, f"'{key}': {value!r} is not one of {', '.join(e.value for e in enum)}") from None

    def ref(self, key: str, *, required: bool = True, label: str | None = None) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                raise self.fail(None, f"missing exit: '{key}' is required")
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"'{key}' must name a node")
        self.refs.append(Ref(label or key, value, self.line(key)))
        return value

    def req_ref(self, key: str) -> str:
        value = self.ref(key)
        assert value is not None
        return value

    def prompt(self, key: str, *, required: bool = False) -> Prompt | None:
        value = self.get(key)
        if value is None:
            if required:
                raise self.fail(None, f"'{key}' is missing")
            return None
        return self.p.prompt(value, self.line(key), f"{self.where}: '{key}'")

    def condition(self, value: Any, line: int, what: str) -> Condition:
        return self.p.condition(value, line, f"{self.where}: {what}")

    def done(self) -> None:
        for key in self.raw:
            if key not in self.used:
                raise self.fail(str(key), f"unknown field '{key}'")


class _Parser:
    def __init__(self, file: str) -> None:
        self.file = file
        self.languages: tuple[str, ...] = ("en",)
        self.default_language = "en"
        self.sensitive: dict[str, MaskStyle] = {}

    def error(self, line: int, reason: str) -> FlowError:
        return FlowError(self.file, line or None, reason)

    def prompt(self, value: Any, line: int, what: str) -> Prompt:
        if isinstance(value, str):
            return Prompt({self.default_language: value})
        if not isinstance(value, Mapping):
            raise self.error(line, f"{what} must be a text or a mapping of language to text")
        texts: dict[str, str] = {}
        audio: dict[str, str] = {}
        for key, text in value.items():
            key_line = _line_of(value, str(key))
            if key == "audio":
                if isinstance(text, str):
                    audio["*"] = text
                elif isinstance(text, Mapping) and all(isinstance(v, str) for v in text.values()):
                    for lang, name in text.items():
                        if lang not in self.languages:
                            raise self.error(key_line, f"{what}: audio for unknown language {lang!r}")
                        audio[str(lang)] = name
                else:
                    raise self.error(key_line, f"{what}: 'audio' must be a file name or language map")
                continue
            if key not in self.languages:
                raise self.error(
                    key_line, f"{what}: {key!r} is not a language of this flow ({', '.join(self.languages)})"
                )
            if not isinstance(text, str):
                raise self.error(key_line, f"{what}: text for {key!r} must be a string")
            texts[str(key)] = text
        if self.default_language not in texts:
            raise self.error(line, f"{what} has no text in the default language {self.default_language!r}")
        return Prompt(texts, audio)

    def condition(self, value: Any, line: int, what: str) -> Condition:
        if not isinstance(value, Mapping) or not value:
            raise self.error(line, f"{what}: 'when' must be a mapping of variable to test")
        clauses: list[Clause] = []
        for var, test in value.items():
            key_line = _line_of(value, str(var)) or line
            if not isinstance(var, str) or not VAR_RE.match(var):
                raise self.error(key_line, f"{what}: {var!r} is not a variable name")
            if isinstance(test, Mapping):
                if len(test) != 1:
                    raise self.error(key_line, f"{what}: test of {var!r} must have exactly one operator")
                ((op_name, expected),) = test.items()
                try:
                    op = Op(op_name)
                except ValueError:
                    raise self.error(
                        key_line, f"{what}: unknown operator {op_name!r} (one of {', '.join(Op)})"
                    ) from None
                if op in (Op.IN, Op.NOT_IN) and not isinstance(expected, list):
                    raise self.error(key_line, f"{what}: '{op}' takes a list")
                if op is Op.EXISTS and not isinstance(expected, bool):
                    raise self.error(key_line, f"{what}: 'exists' takes true or false")
            else:
                op, expected = Op.EQ, test
            if var in self.sensitive and op is not Op.EXISTS:
                raise self.error(key_line, f"{what}: sensitive value {var!r} may only be tested with 'exists'")
            clauses.append(Clause(var, op, tuple(expected) if isinstance(expected, list) else expected))
        return Condition(tuple(clauses))

    # -- top level ---------------------------------------------------------------------------

    def parse(self, doc: Any) -> Flow:
        if not isinstance(doc, _LineDict):
            raise self.error(1, "a flow file must be a mapping with 'flow', 'start', 'fallback' and 'nodes'")
        top = _Fields(self, doc, "flow")
        name = top.req_string("flow")
        description = top.string("description", "") or ""
        languages = top.get("languages")
        if languages is not None:
            if not isinstance(languages, list) or not languages or not all(isinstance(x, str) for x in languages):
                raise top.fail("languages", "'languages' must be a non-empty list of language codes")
            if "audio" in languages:
                raise top.fail("languages", "'audio' cannot be a language code")
            self.languages = tuple(languages)
        self.default_language = top.string("default_language", self.languages[0]) or self.languages[0]
        if self.default_language not in self.languages:
            raise top.fail("default_language", f"default_language {self.default_language!r} is not in languages")
        schema = self.schema(top)
        raw_nodes = top.get("nodes")
        if not isinstance(raw_nodes, _LineDict) or not raw_nodes:
            raise top.fail("nodes", "'nodes' must be a mapping of node id to node")
        start_line, fallback_line = top.line("start"), top.line("fallback")
        start = top.req_string("start")
        fallback = top.req_string("fallback")
        top.done()

        # Sensitive variables first: every other node is checked against them.
        for raw in raw_nodes.values():
            if isinstance(raw, Mapping) and raw.get("type") == "collect" and raw.get("sensitive") is True:
                var = raw.get("var")
                if isinstance(var, str):
                    style = raw.get("mask", "full")
                    self.sensitive[var] = MaskStyle(style) if style in set(MaskStyle) else MaskStyle.FULL

        nodes: dict[str, Node] = {}
        for node_id, raw in raw_nodes.items():
            line = _line_of(raw_nodes, str(node_id))
            if not isinstance(node_id, str) or not NODE_ID_RE.match(node_id):
                raise self.error(line, f"{node_id!r} is not a valid node id")
            if not isinstance(raw, _LineDict):
                raise self.error(line, f"node '{node_id}' must be a mapping with a 'type'")
            raw.line = line
            nodes[node_id] = self.node(node_id, raw)

        if start not in nodes:
            raise self.error(start_line, f"start node '{start}' does not exist")
        if fallback not in nodes:
            raise self.error(fallback_line, f"fallback node '{fallback}' does not exist")
        if nodes[fallback].TYPE not in TERMINAL_TYPES:
            raise self.error(fallback_line, f"fallback node '{fallback}' must be a transfer, callback or hangup node")
        for node in nodes.values():
            for ref in node.refs:
                if ref.target not in nodes:
                    raise self.error(ref.line, f"node '{node.id}': {ref.label} goes to unknown node '{ref.target}'")
        self.check_reachable(nodes, start, fallback)
        self.check_values(nodes, schema)
        return Flow(
            name=name,
            file=self.file,
            start=start,
            fallback=fallback,
            languages=self.languages,
            default_language=self.default_language,
            nodes=nodes,
            schema=schema,
            sensitive_vars=dict(self.sensitive),
            description=description,
        )

    def schema(self, top: _Fields) -> Schema:
        raw = top.get("attached")
        if raw is None:
            return Schema.standard()
        if not isinstance(raw, _LineDict):
            raise top.fail("attached", "'attached' must map field names to {type, editable}")
        extra: list[FieldSpec] = []
        for name, spec in raw.items():
            fields = _Fields(self, spec if isinstance(spec, _LineDict) else _LineDict(), f"attached field '{name}'")
            if not isinstance(spec, _LineDict):
                raise self.error(_line_of(raw, str(name)), f"attached field '{name}' must be a mapping")
            if not isinstance(name, str) or not VAR_RE.match(name):
                raise self.error(_line_of(raw, str(name)), f"{name!r} is not a valid field name")
            kind = fields.choice("type", FieldType)
            editable = fields.boolean("editable", False)
            description = fields.string("description", "") or ""
            fields.done()
            extra.append(FieldSpec(name, kind, editable, description))
        return Schema.standard(tuple(extra))

    def check_reachable(self, nodes: Mapping[str, Node], start: str, fallback: str) -> None:
        seen = {start, fallback}
        todo = [start, fallback]
        while todo:
            for ref in nodes[todo.pop()].refs:
                if ref.target not in seen:
                    seen.add(ref.target)
                    todo.append(ref.target)
        for node in nodes.values():
            if node.id not in seen:
                raise self.error(node.line, f"node '{node.id}' is unreachable from start '{start}'")

    def check_values(self, nodes: Mapping[str, Node], schema: Schema) -> None:
        for node in nodes.values():
            prompts: list[Prompt | None] = []
            if isinstance(node, PlayNode | SelfServiceNode | TransferNode | CallbackNode | HangupNode):
                prompts.append(node.prompt)
            if isinstance(node, InputNode):
                prompts += [node.prompt, node.invalid, node.no_input]
            if isinstance(node, LookupNode):
                prompts += [node.invalid, node.locked]
                if node.url:
                    prompts.append(Prompt({"url": node.url}))
            if isinstance(node, SetNode):
                prompts += [Prompt({"value": v}) for v in node.values.values() if isinstance(v, str)]
            for prompt in prompts:
                for var in prompt.variables() if prompt else ():
                    if var in self.sensitive:
                        raise self.error(node.line, f"node '{node.id}' would say or send sensitive value '{var}'")
            assignments: list[Mapping[str, Any]] = []
            if isinstance(node, SetNode):
                assignments.append(node.values)
            if isinstance(node, MenuNode):
                assignments += [option.set for option in node.options.values()]
            if isinstance(node, LookupNode):
                assignments.append({var: None for var in node.map})
            for values in assignments:
                for var, value in values.items():
                    if var in self.sensitive:
                        raise self.error(node.line, f"node '{node.id}' may not set sensitive value '{var}'")
                    if var in schema and value is not None:
                        try:
                            schema.check(var, value)
                        except AttachedDataError as exc:
                            raise self.error(node.line, f"node '{node.id}': {exc}") from None
            if isinstance(node, LookupNode) and node.by is LookupKind.PIN and node.input not in self.sensitive:
                raise self.error(
                    node.line, f"node '{node.id}': PIN input '{node.input}' must come from a sensitive collect"
                )
            if isinstance(node, CollectNode) and node.var in BUILTIN_VARS:
                raise self.error(node.line, f"node '{node.id}': cannot collect into built-in '{node.var}'")

    # -- nodes -------------------------------------------------------------------------------

    def node(self, node_id: str, raw: _LineDict) -> Node:
        f = _Fields(self, raw, f"node '{node_id}'")
        type_name = f.req_string("type")
        try:
            kind = NodeType(type_name)
        except ValueError:
            raise f.fail("type", f"unknown node type {type_name!r} (one of {', '.join(NodeType)})") from None
        builder = self.BUILDERS[kind]
        node = builder(self, f, node_id)
        f.done()
        return node

    def _play(self, f: _Fields, node_id: str) -> Node:
        prompt = f.prompt("prompt", required=True)
        assert prompt is not None
        return PlayNode(id=node_id, line=f.line(), prompt=prompt, next=f.req_ref("next"), refs=tuple(f.refs))

    def _input_common(self, f: _Fields) -> dict[str, Any]:
        prompt = f.prompt("prompt", required=True)
        return {
            "prompt": prompt,
            "retries": f.integer("retries", 2),
            "timeout_s": f.number("timeout_s", 5.0),
            "invalid": f.prompt("invalid"),
            "no_input": f.prompt("no_input"),
            "on_failure": f.ref("on_failure", required=False),
        }

    def _menu(self, f: _Fields, node_id: str) -> Node:
        common = self._input_common(f)
        raw = f.get("options")
        if not isinstance(raw, _LineDict) or not raw:
            raise f.fail("options" if f.has("options") else None, "'options' must map keys (0-9, *, #) to exits")
        options: dict[str, MenuOption] = {}
        for key, value in raw.items():
            digit = str(key)
            line = _line_of(raw, digit)
            if len(digit) != 1 or digit not in DTMF:
                raise self.error(line, f"node '{node_id}': menu key {digit!r} is not one of 0-9, * and #")
            if isinstance(value, str):
                value = _LineDict({"next": value})
                value.line, value.key_lines = line, {"next": line}
            if not isinstance(value, _LineDict):
                raise self.error(line, f"node '{node_id}': option {digit!r} must name a node or be a mapping")
            of = _Fields(self, value, f"node '{node_id}' option {digit!r}")
            target = of.ref("next", label=f"option {digit!r}")
            assert target is not None
            label = of.string("label", digit) or digit
            values = of.get("set") or {}
            if not isinstance(values, Mapping):
                raise of.fail("set", "'set' must map variables to values")
            self._check_assignments(values, of.line("set"), f"node '{node_id}' option {digit!r}")
            of.done()
            f.refs.extend(of.refs)
            options[digit] = MenuOption(digit, target, label, dict(values))
        return MenuNode(id=node_id, line=f.line(), options=options, refs=tuple(f.refs), **common)

    def _collect(self, f: _Fields, node_id: str) -> Node:
        common = self._input_common(f)
        var = f.var("var", required=True)
        assert var is not None
        min_length = f.integer("min_length", 1, minimum=1)
        max_length = f.integer("max_length", max(min_length, 20), minimum=1)
        if max_length < min_length:
            raise f.fail("max_length", "'max_length' is smaller than 'min_length'")
        terminator = f.get("terminator") if f.has("terminator") else "#"
        if terminator not in (None, "", "#", "*"):
            raise f.fail("terminator", "'terminator' must be '#', '*' or empty")
        sensitive = f.boolean("sensitive", False)
        mask = f.choice("mask", MaskStyle, MaskStyle.FULL)
        if f.has("mask") and not sensitive:
            raise f.fail("mask", "'mask' only applies to a sensitive collect")
        return CollectNode(
            id=node_id,
            line=f.line(),
            var=var,
            min_length=min_length,
            max_length=max_length,
            terminator=terminator or None,
            inter_digit_timeout_s=f.number("inter_digit_timeout_s", 3.0),
            sensitive=sensitive,
            mask=mask,
            next=f.req_ref("next"),
            refs=tuple(f.refs),
            **common,
        )

    def _lookup(self, f: _Fields, node_id: str) -> Node:
        by: LookupKind = f.choice("by", LookupKind)
        default_input = {LookupKind.PHONE: "caller", LookupKind.ACCOUNT: "account", LookupKind.PIN: "pin"}
        input_var = f.var("input", default_input.get(by, "caller")) or "caller"
        url = f.string("url")
        if by is LookupKind.REST:
            if not url:
                raise f.fail(None, "a rest look-up needs 'url'")
            if not url.startswith(("http://", "https://")):
                raise f.fail("url", "'url' must start with http:// or https://")
        elif url is not None:
            raise f.fail("url", "'url' only applies to a rest look-up")
        mapping = f.get("map") or {}
        if not isinstance(mapping, Mapping) or not all(
            isinstance(k, str) and VAR_RE.match(k) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise f.fail("map", "'map' must map variable names to JSON field paths (a.b.c)")
        if mapping and by is not LookupKind.REST:
            raise f.fail("map", "'map' only applies to a rest look-up")
        retries = f.integer("retries", 0)
        retry = f.ref("retry", required=retries > 0)
        if retry is not None and retries == 0:
            raise f.fail("retry", "'retry' needs 'retries' of at least 1")
        locked = f.prompt("locked")
        if locked is not None and by is not LookupKind.PIN:
            raise f.fail("locked", "'locked' only applies to a pin look-up")
        return LookupNode(
            id=node_id,
            line=f.line(),
            by=by,
            input=input_var,
            account_var=f.var("account", "account") or "account",
            url=url,
            timeout_s=f.number("timeout_s", 3.0),
            map=dict(mapping),
            found=f.req_ref("found"),
            not_found=f.req_ref("not_found"),
            error=f.ref("error", required=False),
            retries=retries,
            retry=retry,
            invalid=f.prompt("invalid"),
            locked=locked,
            refs=tuple(f.refs),
        )

    def _condition(self, f: _Fields, node_id: str) -> Node:
        raw = f.get("branches")
        if not isinstance(raw, list) or not raw:
            raise f.fail("branches" if f.has("branches") else None, "'branches' must be a list of {when, next}")
        branches: list[Branch] = []
        for index, item in enumerate(raw, start=1):
            if not isinstance(item, _LineDict):
                raise f.fail("branches", f"branch {index} must be a mapping with 'when' and 'next'")
            bf = _Fields(self, item, f"node '{node_id}' branch {index}")
            when = bf.condition(bf.get("when"), bf.line("when"), "'when'")
            target = bf.ref("next", label=f"branch {index}")
            assert target is not None
            bf.done()
            f.refs.extend(bf.refs)
            branches.append(Branch(when, target))
        otherwise = f.req_ref("else")
        return ConditionNode(
            id=node_id, line=f.line(), branches=tuple(branches), otherwise=otherwise, refs=tuple(f.refs)
        )

    def _check_assignments(self, values: Mapping[Any, Any], line: int, what: str) -> None:
        for var, value in values.items():
            if not isinstance(var, str) or not VAR_RE.match(var):
                raise self.error(line, f"{what}: {var!r} is not a variable name")
            if not isinstance(value, str | int | float | bool | list) or value is None:
                raise self.error(line, f"{what}: value of {var!r} must be a text, number, true/false or list")

    def _set(self, f: _Fields, node_id: str) -> Node:
        values = f.get("values")
        if not isinstance(values, Mapping) or not values:
            raise f.fail("values" if f.has("values") else None, "'values' must map variables to values")
        self._check_assignments(values, f.line("values"), f"node '{node_id}'")
        return SetNode(id=node_id, line=f.line(), values=dict(values), next=f.req_ref("next"), refs=tuple(f.refs))

    def _selfservice(self, f: _Fields, node_id: str) -> Node:
        service: SelfService = f.choice("service", SelfService)
        return SelfServiceNode(
            id=node_id,
            line=f.line(),
            service=service,
            requires_verified=f.boolean("requires_verified", True),
            prompt=f.prompt("prompt"),
            next=f.req_ref("next"),
            unavailable=f.ref("unavailable", required=False),
            refs=tuple(f.refs),
        )

    def _transfer(self, f: _Fields, node_id: str) -> Node:
        queue = f.req_string("queue")
        priority = f.integer("priority", 0)
        raw_rules = f.get("priority_rules") or []
        if not isinstance(raw_rules, list):
            raise f.fail("priority_rules", "'priority_rules' must be a list of {when, add | at_least}")
        rules: list[PriorityRule] = []
        for index, item in enumerate(raw_rules, start=1):
            if not isinstance(item, _LineDict):
                raise f.fail("priority_rules", f"priority rule {index} must be a mapping")
            rf = _Fields(self, item, f"node '{node_id}' priority rule {index}")
            when = rf.condition(rf.get("when"), rf.line("when"), "'when'")
            add = rf.integer("add", 0)
            at_least = rf.integer("at_least", -1)
            if add == 0 and at_least < 0:
                raise rf.fail(None, "a priority rule needs 'add' or 'at_least'")
            rf.done()
            rules.append(PriorityRule(when, add, at_least if at_least >= 0 else None))
        return TransferNode(
            id=node_id,
            line=f.line(),
            queue=queue,
            priority=priority,
            priority_rules=tuple(rules),
            prompt=f.prompt("prompt"),
            refs=tuple(f.refs),
        )

    def _callback(self, f: _Fields, node_id: str) -> Node:
        return CallbackNode(
            id=node_id,
            line=f.line(),
            queue=f.req_string("queue"),
            number_var=f.var("number", "caller") or "caller",
            priority=f.integer("priority", 0),
            prompt=f.prompt("prompt"),
            refs=tuple(f.refs),
        )

    def _hangup(self, f: _Fields, node_id: str) -> Node:
        return HangupNode(id=node_id, line=f.line(), prompt=f.prompt("prompt"), refs=tuple(f.refs))

    BUILDERS: ClassVar[dict[NodeType, Callable[[_Parser, _Fields, str], Node]]] = {
        NodeType.PLAY: _play,
        NodeType.MENU: _menu,
        NodeType.COLLECT: _collect,
        NodeType.LOOKUP: _lookup,
        NodeType.CONDITION: _condition,
        NodeType.SET: _set,
        NodeType.SELFSERVICE: _selfservice,
        NodeType.TRANSFER: _transfer,
        NodeType.CALLBACK: _callback,
        NodeType.HANGUP: _hangup,
    }


def parse_flow(text: str, file: str = "<flow>") -> Flow:
    """Parse and validate a flow from YAML text; ``file`` names it in errors."""
    try:
        doc = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except (_DuplicateKey, _TooDeep) as exc:
        raise FlowError(file, exc.line, str(exc)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise FlowError(file, mark.line + 1 if mark else None, f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise FlowError(file, None, f"not valid YAML: {exc}") from None
    flow = _Parser(file).parse(doc)
    logger.debug("flow %s loaded from %s: %d nodes", flow.name, file, len(flow.nodes))
    return flow


def load_flow(path: str | Path) -> Flow:
    """Load and validate a flow file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlowError(path, None, "flow file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError(path, None, f"cannot read flow file: {exc}") from None
    return parse_flow(text, str(path))
