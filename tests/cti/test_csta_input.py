"""CSTA input from a hostile or broken peer: refused frame by frame, never a crash, never expanded."""

from __future__ import annotations

import asyncio
import logging
import struct

import pytest

from bus.messages import CallEvent
from cti.codec import ProtocolIssue
from cti.csta.client import CstaLink
from cti.csta.codec import MAX_DEPTH, NS_ED4, CstaDecoder, CstaMessage, parse_xml
from cti.model import LinkEvent
from tests.helpers import until

from .test_csta_client import FakePbx, conn, run

refused = pytest.mark.expect_log(logging.WARNING, "cti.csta.codec", match=r"^CSTA stream offset \d+")


def raw_frame(invoke: str, body: bytes) -> bytes:
    return struct.pack(">I", len(body) + 8) + invoke.encode() + body


def reasons(data: bytes) -> list[str]:
    return [e.reason for e in CstaDecoder().feed(data) if isinstance(e, ProtocolIssue)]


@refused
def test_a_frame_nested_five_thousand_deep_is_refused_and_the_next_one_decodes() -> None:
    deep = b"<a>" * 5000 + b"</a>" * 5000
    assert len(deep) > 30_000
    events = CstaDecoder().feed(raw_frame("9999", deep) + raw_frame("9999", b"<HeldEvent/>"))
    assert isinstance(events[0], ProtocolIssue)
    assert events[0].reason == f"XML nested deeper than {MAX_DEPTH} elements refused"
    assert isinstance(events[1], CstaMessage) and events[1].name == "HeldEvent"


def test_nesting_up_to_the_bound_is_fine() -> None:
    body = "<e>" * (MAX_DEPTH - 1) + "<callID>7</callID>" + "</e>" * (MAX_DEPTH - 1)
    message = parse_xml("9999", body.encode())
    assert isinstance(message, CstaMessage) and message.get("*/callID") == "7"


ENTITY_DOC = (
    '<?xml version="1.0" encoding="UTF-16"?>'
    '<!DOCTYPE e [<!ENTITY x "injected">]>'
    '<DeliveredEvent xmlns="' + NS_ED4 + '"><connection><callID>&x;</callID></connection></DeliveredEvent>'
)


@refused
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_doctypes_are_refused_and_no_entity_is_expanded(encoding: str) -> None:
    body = ENTITY_DOC.encode(encoding)
    if encoding != "utf-16":
        body = ("\ufeff" + ENTITY_DOC).encode(encoding)
    assert b"DOCTYPE" not in body  # what slipped past a byte filter
    assert parse_xml("9999", body) == "XML with a DOCTYPE or ENTITY declaration refused"
    assert reasons(raw_frame("9999", body)) == ["XML with a DOCTYPE or ENTITY declaration refused"]


def test_billion_laughs_and_external_entities_are_refused() -> None:
    laughs = ('<!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>').encode("utf-16")
    external = '<!DOCTYPE e SYSTEM "file:///etc/passwd"><e/>'.encode("utf-16")
    for body in (laughs, external):
        assert parse_xml("9999", body) == "XML with a DOCTYPE or ENTITY declaration refused"
    # An entity used without a declaration is an error, never a look-up.
    assert str(parse_xml("9999", b"<e><callID>&x;</callID></e>")).startswith("XML does not parse: undefined entity")


def test_utf16_without_declarations_still_decodes() -> None:
    xml = f'<?xml version="1.0" encoding="UTF-16"?><HeldEvent xmlns="{NS_ED4}"><callID>42</callID></HeldEvent>'
    message = parse_xml("9999", xml.encode("utf-16"))
    assert isinstance(message, CstaMessage) and message.name == "HeldEvent" and message.namespace == NS_ED4
    assert message.fields == (("callID", "42"),)


@refused
def test_the_link_lives_on_after_hostile_frames() -> None:
    async def scenario(pbx: FakePbx, settings) -> None:
        link = CstaLink(settings)
        events: list[LinkEvent] = []

        async def pull() -> None:
            async for e in link.events():
                events.append(e)

        await link.connect()
        puller = asyncio.create_task(pull())
        try:
            for writer in pbx._clients:
                writer.write(raw_frame("9999", b"<a>" * 5000 + b"</a>" * 5000))
                writer.write(raw_frame("9999", ENTITY_DOC.encode("utf-16")))
            pbx.event("DeliveredEvent", conn("connection", "77", "2001") + "<callingDevice><deviceIdentifier>"
                      "5551234</deviceIdentifier></callingDevice><alertingDevice><deviceIdentifier>2001"
                      "</deviceIdentifier></alertingDevice>")
            await until(lambda: any(isinstance(e, CallEvent) for e in events))
            assert link.sessions == 1 and link.ready.is_set()
        finally:
            await link.close()
            await puller
        call = next(e for e in events if isinstance(e, CallEvent))
        assert call.call_id == "csta-77" and "injected" not in repr(events)

    run(scenario)
