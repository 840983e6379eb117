"""A link says it can do only what it carries out: the desktop and the supervisor window enable a command
(listening in among them) because the link's capabilities name it, so a capability whose method is still
CtiLink's refusal would be a button that always fails."""

from __future__ import annotations

import pytest

from cti.ami.client import AmiLink
from cti.baresip.link import BaresipLink
from cti.csta.client import CstaLink
from cti.link import CtiLink
from cti.model import Capability
from cti.serial.link import SerialLink, SerialSettings
from cti.sim import SimLink


@pytest.mark.parametrize("capabilities, link_class", [
    (SimLink.capabilities, SimLink),
    (AmiLink.capabilities, AmiLink),
    (CstaLink.capabilities, CstaLink),
    (BaresipLink.capabilities, BaresipLink),
    (SerialLink(SerialSettings(port="/dev/null", mode="modem")).capabilities, SerialLink),
], ids=["sim", "ami", "csta", "baresip", "serial-modem"])
def test_every_capability_a_link_names_is_carried_out_by_it(capabilities: frozenset[Capability],
                                                             link_class: type[CtiLink]) -> None:
    refused = sorted(c.value for c in capabilities if getattr(link_class, c.value) is getattr(CtiLink, c.value))
    assert refused == []


def test_listening_in_is_greyed_out_on_csta_and_serial_links() -> None:
    assert Capability.LISTEN not in CstaLink.capabilities
    assert Capability.LISTEN not in SerialLink(SerialSettings(port="/dev/null", mode="modem")).capabilities
    assert Capability.LISTEN in AmiLink.capabilities and Capability.LISTEN in SimLink.capabilities
