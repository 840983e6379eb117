"""The topic scheme (a contract): every topic built by ``bus.topics`` parses back to what built it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bus import topics
from bus.errors import BusError

SEGMENT = st.text(alphabet="abcXYZ019_.:@-", min_size=1, max_size=20)

BUILT = [
    (topics.call("hq", "sim-1"), "ccenter/v1/hq/calls/sim-1", topics.CallTopic("hq", "sim-1")),
    (topics.agent_events("hq", "alice"), "ccenter/v1/hq/agents/alice/events", topics.AgentEventsTopic("hq", "alice")),
    (topics.agent_commands("hq", "a.b@c"), "ccenter/v1/hq/agents/a.b@c/commands",
     topics.AgentCommandsTopic("hq", "a.b@c")),
    (topics.queue_stats("hq", "billing"), "ccenter/v1/hq/queues/billing/stats",
     topics.QueueStatsTopic("hq", "billing")),
    (topics.cti_commands("hq"), "ccenter/v1/hq/cti/commands", topics.CtiCommandsTopic("hq")),
    (topics.cti_results("hq"), "ccenter/v1/hq/cti/results", topics.CtiResultsTopic("hq")),
    (topics.cti_capabilities("hq"), "ccenter/v1/hq/cti/capabilities", topics.CtiCapabilitiesTopic("hq")),
    (topics.presence("hq", "acd-1"), "ccenter/v1/hq/presence/acd-1", topics.PresenceTopic("hq", "acd-1")),
    (topics.acd_leader("hq"), "ccenter/v1/hq/acd/leader", topics.AcdLeaderTopic("hq")),
    (topics.acd_state("hq"), "ccenter/v1/hq/acd/state", topics.AcdStateTopic("hq")),
]


@pytest.mark.parametrize(("built", "expected", "parsed"), BUILT, ids=[b[1] for b in BUILT])
def test_topics_are_the_documented_strings_and_parse_back(built: str, expected: str, parsed: topics.Topic) -> None:
    assert built == expected
    assert topics.parse(built) == parsed
    assert str(parsed) == built


@given(site=SEGMENT, key=SEGMENT)
def test_every_built_topic_round_trips(site: str, key: str) -> None:
    for built, parsed in [
        (topics.call(site, key), topics.CallTopic(site, key)),
        (topics.agent_events(site, key), topics.AgentEventsTopic(site, key)),
        (topics.agent_commands(site, key), topics.AgentCommandsTopic(site, key)),
        (topics.queue_stats(site, key), topics.QueueStatsTopic(site, key)),
        (topics.presence(site, key), topics.PresenceTopic(site, key)),
        (topics.cti_results(site), topics.CtiResultsTopic(site)),
    ]:
        assert topics.parse(built) == parsed
        assert str(topics.parse(built)) == built


@pytest.mark.parametrize(
    ("pattern", "topic", "matched"),
    [
        (topics.calls("hq"), topics.call("hq", "c1"), True),
        (topics.calls("hq"), topics.call("other", "c1"), False),
        (topics.all_agent_events("hq"), topics.agent_events("hq", "bob"), True),
        (topics.all_agent_events("hq"), topics.agent_commands("hq", "bob"), False),
        (topics.all_agent_commands("hq"), topics.agent_commands("hq", "bob"), True),
        (topics.all_queue_stats("hq"), topics.queue_stats("hq", "sales"), True),
        (topics.all_presence("hq"), topics.presence("hq", "cti-gateway-hq"), True),
        (topics.everything("hq"), topics.acd_state("hq"), True),
        (topics.everything("hq"), topics.acd_state("hqx"), False),
    ],
)
def test_wildcard_filters_match_what_they_name(pattern: str, topic: str, matched: bool) -> None:
    assert topics.matches(pattern, topic) is matched


@pytest.mark.parametrize("bad", ["a/b", "+", "#", "a+", "a#b", "", "x\r\ny", "white space", "x" * 129, "ü"])
def test_ids_that_would_change_the_topic_are_refused(bad: str) -> None:
    for build in (topics.call, topics.agent_events, topics.agent_commands, topics.queue_stats, topics.presence):
        with pytest.raises(topics.TopicError, match="cannot be a topic segment"):
            build("hq", bad)
        with pytest.raises(topics.TopicError):
            build(bad, "ok")
    for build_site in (topics.cti_commands, topics.cti_results, topics.calls, topics.all_agent_events,
                       topics.everything):
        with pytest.raises(topics.TopicError):
            build_site(bad)


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "ccenter/v1",
        "ccenter/v1/",
        "ccenter/v1/hq",
        "ccenter/v2/hq/calls/c1",  # another version of the scheme
        "other/v1/hq/calls/c1",  # someone else's topic on the same broker
        "/ccenter/v1/hq/calls/c1",
        "ccenter/v1/hq/calls",
        "ccenter/v1/hq/calls/",
        "ccenter/v1/hq/calls/c1/extra",
        "ccenter/v1/hq/calls/+",  # a filter, not a topic
        "ccenter/v1/hq/#",
        "ccenter/v1/+/calls/c1",
        "ccenter/v1/hq/agents/alice",
        "ccenter/v1/hq/agents/alice/state",
        "ccenter/v1/hq/agents//events",
        "ccenter/v1/hq/queues/sales",
        "ccenter/v1/hq/cti/teleport",
        "ccenter/v1/hq/acd/leader/extra",
        "ccenter/v1/hq/weather/today",
        "ccenter/v1/h q/calls/c1",
    ],
)
def test_foreign_and_malformed_topics_are_refused(topic: str) -> None:
    with pytest.raises(topics.TopicError) as caught:
        topics.parse(topic)
    assert repr(topic) in str(caught.value)  # the error names the topic
    assert isinstance(caught.value, BusError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize("call_id", ["1700000000.12", "a.b.c", "sim-1", "...", "x:y@z_1-2"])
def test_a_call_id_is_written_without_dots_and_parsed_back_exactly(call_id: str) -> None:
    topic = topics.call("hq", call_id)
    assert "." not in topic.split("/")[-1]  # NATS' MQTT interface drops a client on a "." in a topic
    assert topics.parse(topic) == topics.CallTopic("hq", call_id)
    assert str(topics.parse(topic)) == topic
    assert topics.matches(topics.calls("hq"), topic)


def test_an_asterisk_call_id_has_one_written_form() -> None:
    assert topics.call("hq", "1700000000.12") == "ccenter/v1/hq/calls/1700000000~2E12"
    assert topics.unescape("1700000000~2E12") == "1700000000.12"


@pytest.mark.parametrize("level", ["1700000000.12", "a~2", "a~41", "a~2e12", "~", "a~ZZ"])
def test_a_call_topic_level_that_is_not_a_written_form_is_refused(level: str) -> None:
    with pytest.raises(topics.TopicError):
        topics.parse(f"ccenter/v1/hq/calls/{level}")
