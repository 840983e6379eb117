"""Flow loading and validation: every refusal says the file, the line and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.errors import FlowError
from ivr.flow import (
    CallbackNode,
    CollectNode,
    ConditionNode,
    HangupNode,
    LookupKind,
    LookupNode,
    MenuNode,
    Op,
    PlayNode,
    SelfService,
    SelfServiceNode,
    SetNode,
    TransferNode,
    load_flow,
    parse_flow,
)
from ivr.sensitive import MaskStyle

GOOD = """\
    flow: sample
    languages: [en, zh]
    start: hello
    fallback: agent
    attached:
      plan: {type: str, editable: true}
    nodes:
      hello:
        type: play
        prompt: {en: "Hello", zh: "你好", audio: {en: hello-en, zh: hello-zh}}
        next: main
      main:
        type: menu
        prompt: "Press 1 for balance, 2 for an agent"
        options:
          1: {next: acct, label: balance, set: {intent: balance}}
          "2": agent
        retries: 1
        timeout_s: 4
        invalid: "Not a valid choice"
        no_input: "Please press a key"
        on_failure: agent
      acct:
        type: collect
        prompt: "Account number, then hash"
        var: account
        min_length: 8
        max_length: 8
        next: find
      find:
        type: lookup
        by: account
        found: pin
        not_found: agent
        error: agent
        retries: 1
        retry: acct
        invalid: "Unknown account"
      pin:
        type: collect
        prompt: "PIN"
        var: pin
        min_length: 4
        max_length: 4
        sensitive: true
        next: check
      check:
        type: lookup
        by: pin
        found: tiered
        not_found: agent
      tiered:
        type: condition
        branches:
          - when: {tier: VIP}
            next: vip
          - when: {tier: {in: [gold, silver]}, verified: true}
            next: balance
        else: balance
      vip:
        type: set
        values: {plan: premium}
        next: balance
      balance:
        type: selfservice
        service: balance
        prompt: "Your balance is {balance} {currency}"
        next: bye
        unavailable: agent
      bye:
        type: hangup
        prompt: "Goodbye"
      agent:
        type: transfer
        queue: general
        priority: 1
        priority_rules:
          - when: {tier: VIP}
            add: 5
          - when: {intent: cancel}
            at_least: 8
      later:
        type: callback
        queue: callbacks
      api:
        type: lookup
        by: rest
        url: "http://127.0.0.1:1/customers?phone={caller}"
        map: {customer_id: id}
        found: later
        not_found: later
    """


def refuse(text: str) -> FlowError:
    with pytest.raises(FlowError) as info:
        parse_flow(text, "flows/x.yaml")
    assert str(info.value).startswith("flows/x.yaml:")
    return info.value


def test_good_flow_loads_every_node_type() -> None:
    # 'later' and 'api' are unreachable in GOOD: make them reachable through the failure exit.
    text = GOOD.replace("        on_failure: agent\n", "        on_failure: api\n")
    flow = parse_flow(text, "sample.yaml")
    kinds = {type(node) for node in flow.nodes.values()}
    assert kinds == {
        PlayNode,
        MenuNode,
        CollectNode,
        LookupNode,
        ConditionNode,
        SetNode,
        SelfServiceNode,
        TransferNode,
        CallbackNode,
        HangupNode,
    }
    hello = flow.nodes["hello"]
    assert isinstance(hello, PlayNode) and hello.line == 8
    assert hello.prompt.text_for("zh", "en") == "你好"
    assert hello.prompt.audio_for("zh", "en") == "hello-zh"
    assert hello.prompt.text_for("fr", "en") == "Hello"
    menu = flow.nodes["main"]
    assert isinstance(menu, MenuNode)
    assert set(menu.options) == {"1", "2"}
    assert menu.options["1"].set == {"intent": "balance"}
    assert menu.options["2"].label == "2"
    assert menu.retries == 1 and menu.timeout_s == 4.0
    pin = flow.nodes["pin"]
    assert isinstance(pin, CollectNode) and pin.sensitive and pin.mask is MaskStyle.FULL
    assert flow.sensitive_vars == {"pin": MaskStyle.FULL}
    check = flow.nodes["check"]
    assert isinstance(check, LookupNode) and check.by is LookupKind.PIN and check.input == "pin"
    cond = flow.nodes["tiered"]
    assert isinstance(cond, ConditionNode) and cond.branches[1].when.clauses[0].op is Op.IN
    assert isinstance(flow.nodes["balance"], SelfServiceNode)
    assert flow.nodes["balance"].service is SelfService.BALANCE
    agent = flow.nodes["agent"]
    assert isinstance(agent, TransferNode)
    assert agent.priority_for({"tier": "VIP"}) == 6
    assert agent.priority_for({"intent": "cancel"}) == 8
    assert agent.priority_for({"tier": "VIP", "intent": "cancel"}) == 8
    assert agent.priority_for({}) == 1
    assert flow.schema.fields["plan"].editable


def test_load_flow_from_file(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(GOOD.replace("        on_failure: agent\n", "        on_failure: api\n"), encoding="utf-8")
    assert load_flow(path).name == "sample"
    with pytest.raises(FlowError, match="flow file not found"):
        load_flow(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FlowError, match="cannot read"):
        load_flow(bad)


def good_with(old: str, new: str) -> str:
    text = GOOD.replace("        on_failure: agent\n", "        on_failure: api\n")
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ("        type: play\n", "        type: speak\n", 9, "unknown node type 'speak'"),
        ("        next: main\n", "        next: mian\n", 11, "goes to unknown node 'mian'"),
        ("        next: main\n", "        nxt: main\n", 8, "missing exit: 'next' is required"),
        ("        timeout_s: 4\n", "        timeout_s: soon\n", 19, "'timeout_s' must be a number"),
        ("        timeout_s: 4\n", "        timeout_s: 4\n        colour: red\n", 20, "unknown field 'colour'"),
        ("        retries: 1\n", "        retries: -1\n", 18, "'retries' must be at least 0"),
        ("          1: {next", "          12: {next", 16, "menu key '12' is not one of"),
        ("        max_length: 8\n", "        max_length: 7\n", 28, "'max_length' is smaller than 'min_length'"),
        ("        sensitive: true\n", "        sensitive: yes please\n", 45, "'sensitive' must be true or false"),
        ("        by: account\n", "        by: fax\n", 32, "'fax' is not one of"),
        ("        retry: acct\n", "", 30, "missing exit: 'retry' is required"),
        ("            add: 5\n", "            add: five\n", 79, "'add' must be a whole number"),
        ("            add: 5\n", "", 78, "needs 'add' or 'at_least'"),
        ("      - when: {tier: VIP}\n", "      - when: {tier: {like: VIP}}\n", 55, "unknown operator 'like'"),
        ("        service: balance\n", "        service: weather\n", 66, "'weather' is not one of"),
        ('prompt: {en: "Hello", zh: "你好"', 'prompt: {en: "Hello", fr: "Salut"', 10, "'fr' is not a language"),
        ('        prompt: "Goodbye"\n', '        prompt: {zh: "再见"}\n', 72, "no text in the default language"),
        ('        url: "http://127', '        url: "ftp://127', 88, "must start with http"),
        ("start: hello\n", "start: nowhere\n", 3, "start node 'nowhere' does not exist"),
        ("fallback: agent\n", "fallback: hello\n", 4, "must be a transfer, callback or hangup node"),
        ("fallback: agent\n", "fallback: gone\n", 4, "fallback node 'gone' does not exist"),
        ("      plan: {type: str", "      plan: {type: text", 6, "'text' is not one of"),
        ("        values: {plan: premium}\n", "        values: {plan: 5}\n", 60, "takes str, not int"),
        (
            '        prompt: "Your balance is {balance} {currency}"\n',
            '        prompt: "PIN {pin}"\n',
            64,
            "would say or send sensitive value 'pin'",
        ),
        ("      - when: {tier: VIP}\n", "      - when: {pin: '1234'}\n", 55, "may only be tested with 'exists'"),
        ("        values: {plan: premium}\n", '        values: {plan: "x{pin}"}\n', 60, "send sensitive value 'pin'"),
        (
            "        values: {plan: premium}\n",
            "        values: {pin: '0000'}\n",
            60,
            "may not set sensitive value 'pin'",
        ),
        ("        sensitive: true\n", "", 46, "must come from a sensitive collect"),
        ("        type: hangup\n", "        type: hangup\n        next: agent\n", 72, "unknown field 'next'"),
        ("        var: account\n", "        var: Account-No\n", 26, "is not a variable name"),
    ],
)
def test_refused_with_line_and_reason(old: str, new: str, line: int, reason: str) -> None:
    error = refuse(good_with(old, new))
    assert reason in error.reason, error
    assert error.line == line, error
    assert error.file == "flows/x.yaml"


def test_unreachable_node_is_refused() -> None:
    error = refuse(GOOD)
    assert error.line == 82
    assert "node 'later' is unreachable from start 'hello'" in error.reason


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("flow: x\nnodes: [\n", 3, "not valid YAML"),
        ("- just\n- a list\n", 1, "must be a mapping"),
        ("flow: x\nstart: a\nfallback: a\nnodes:\n  a: {type: hangup}\n  a: {type: hangup}\n", 6, "duplicate key"),
        ("flow: x\nstart: a\nfallback: a\nnodes: {}\n", 4, "'nodes' must be a mapping"),
        ("start: a\nfallback: a\nnodes:\n  a: {type: hangup}\n", 1, "'flow' is missing"),
        ("flow: x\nfallback: a\nnodes:\n  a: {type: hangup}\n", 1, "'start' is missing"),
        ("flow: x\nstart: a\nfallback: a\nnodes:\n  a: hangup\n", 5, "must be a mapping with a 'type'"),
        ("flow: x\nstart: a\nfallback: a\nnodes:\n  a: {prompt: hi}\n", 5, "'type' is missing"),
        ("flow: x\nstart: a\nfallback: a\ncolour: red\nnodes:\n  a: {type: hangup}\n", 4, "unknown field 'colour'"),
        ("flow: x\nlanguages: []\nstart: a\nfallback: a\nnodes:\n  a: {type: hangup}\n", 2, "'languages' must"),
        ("flow: x\ndefault_language: fr\nstart: a\nfallback: a\nnodes:\n  a: {type: hangup}\n", 2, "not in languages"),
        ("flow: x\nstart: a\nfallback: a\nnodes:\n  a: {type: menu, prompt: hi, options: {}}\n", 5, "'options' must"),
        (
            "flow: x\nstart: a\nfallback: b\nnodes:\n  a: {type: condition, branches: [], else: b}\n"
            "  b: {type: hangup}\n",
            5,
            "'branches' must",
        ),
        (
            "flow: x\nstart: a\nfallback: b\nnodes:\n  a: {type: set, values: {}, next: b}\n  b: {type: hangup}\n",
            5,
            "'values' must",
        ),
        ("flow: x\nstart: a\nfallback: a\nnodes:\n  a: {type: collect, prompt: hi, next: a}\n", 5, "'var' is missing"),
        (
            "flow: x\nstart: a\nfallback: b\nnodes:\n  a: {type: lookup, by: rest, found: b, not_found: b}\n"
            "  b: {type: hangup}\n",
            5,
            "needs 'url'",
        ),
        (
            "flow: x\nstart: a\nfallback: b\nnodes:\n"
            "  a: {type: lookup, by: phone, map: {x: y}, found: b, not_found: b}\n"
            "  b: {type: hangup}\n",
            5,
            "'map' only applies",
        ),
        (
            "flow: x\nstart: a\nfallback: b\nnodes:\n  a: {type: collect, prompt: p, var: caller, next: b}\n"
            "  b: {type: hangup}\n",
            5,
            "built-in 'caller'",
        ),
        (
            "flow: x\nstart: a\nfallback: b\nnodes:\n  a: {type: collect, prompt: p, var: c, mask: last4, next: b}\n"
            "  b: {type: hangup}\n",
            5,
            "only applies to a sensitive collect",
        ),
        (
            "flow: x\nstart: a\nfallback: b\nnodes:\n  a: {type: collect, prompt: p, var: c, terminator: x, next: b}\n"
            "  b: {type: hangup}\n",
            5,
            "'terminator' must be",
        ),
        (
            "flow: x\nstart: a\nfallback: b\nnodes:\n  a: {type: play, prompt: 5, next: b}\n  b: {type: hangup}\n",
            5,
            "must be a text or a mapping",
        ),
        ("flow: x\nstart: a\nfallback: a\nnodes:\n  bad id: {type: hangup}\n", 5, "not a valid node id"),
    ],
)
def test_refused_documents(text: str, line: int, reason: str) -> None:
    error = refuse(text)
    assert reason in error.reason, error
    assert error.line == line, error
