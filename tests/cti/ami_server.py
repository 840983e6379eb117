"""A small Asterisk stand-in for tests: speaks AMI over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from dataclasses import dataclass, field

from cti.ami.codec import AmiDecoder, AmiMessage


def render(first: tuple[str, str], headers: dict[str, str] | list[tuple[str, str]]) -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    return ("".join(f"{k}: {v}\r\n" for k, v in [first, *items]) + "\r\n").encode()


@dataclass
class Channel:
    uniqueid: str
    linkedid: str
    channel: str
    state: int = 6
    caller: str = ""
    exten: str = ""

    def snapshot(self) -> dict[str, str]:
        return {
            "Channel": self.channel,
            "ChannelState": str(self.state),
            "ChannelStateDesc": {4: "Ring", 5: "Ringing", 6: "Up"}.get(self.state, "Down"),
            "CallerIDNum": self.caller or "<unknown>",
            "Exten": self.exten,
            "Context": "from-internal",
            "Uniqueid": self.uniqueid,
            "Linkedid": self.linkedid,
        }


@dataclass
class FakeAsterisk:
    username: str = "cc"
    secret: str = "s3cret"
    channels: dict[str, Channel] = field(default_factory=dict)
    actions: list[AmiMessage] = field(default_factory=list)
    logins: int = 0
    pings: int = 0
    answer_pings: bool = True
    port: int = 0
    _clients: list[asyncio.StreamWriter] = field(default_factory=list)
    _server: asyncio.Server | None = None
    redirects: list[AmiMessage] = field(default_factory=list)
    conference_rooms: dict[str, list[str]] = field(default_factory=dict)
    _challenges: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _originated: itertools.count[int] = field(default_factory=lambda: itertools.count(0x100))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop_clients()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop_clients(self) -> None:
        """Cut every connection, like a network failure or an Asterisk restart."""
        for writer in self._clients:
            writer.transport.abort()
        self._clients.clear()

    def broadcast(self, event: str, headers: dict[str, str]) -> None:
        for writer in self._clients:
            writer.write(render(("Event", event), headers))

    # -- telephone system state ------------------------------------------------------------
    def new_channel(
        self, uniqueid: str, linkedid: str, channel: str, *, state: int = 6, caller: str = "", exten: str = ""
    ) -> None:
        chan = Channel(uniqueid, linkedid, channel, state, caller, exten)
        self.channels[uniqueid] = chan
        self.broadcast("Newchannel", chan.snapshot())

    def by_name(self, channel: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.channel == channel), None)

    def bridge(self, bridge_id: str, uniqueids: list[str]) -> None:
        """Put channels into one bridge: like Asterisk, every leg takes the oldest leg's Linkedid."""
        legs = [self.channels[u] for u in uniqueids if u in self.channels]
        if not legs:
            return
        linkedid = legs[0].linkedid
        for chan in legs:
            chan.linkedid = linkedid
            self.broadcast("BridgeEnter", chan.snapshot() | {"BridgeUniqueid": bridge_id, "BridgeType": "basic"})

    def hangup(self, uniqueid: str) -> None:
        chan = self.channels.pop(uniqueid)
        self.broadcast("Hangup", chan.snapshot() | {"Cause": "16", "Cause-txt": "Normal Clearing"})

    # -- protocol --------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/5.0.1\r\n")
        decoder = AmiDecoder()
        challenge = ""
        logged_in = False
        try:
            while data := await reader.read(4096):
                for msg in decoder.feed(data):
                    if not isinstance(msg, AmiMessage) or msg.kind != "action":
                        continue
                    self.actions.append(msg)
                    name = msg.name.lower()
                    aid = msg.action_id or ""
                    ok = [("ActionID", aid)]
                    if name == "challenge":
                        challenge = str(next(self._challenges))
                        writer.write(render(("Response", "Success"), [*ok, ("Challenge", challenge)]))
                    elif name == "login":
                        expected = hashlib.md5((challenge + self.secret).encode()).hexdigest()
                        good = msg.get("Username") == self.username and (
                            msg.get("Key") == expected or msg.get("Secret") == self.secret
                        )
                        if good:
                            logged_in = True
                            self.logins += 1
                            self._clients.append(writer)
                            writer.write(render(("Response", "Success"), [*ok, ("Message", "Authentication accepted")]))
                            writer.write(render(("Event", "FullyBooted"), {"Status": "Fully Booted"}))
                        else:
                            writer.write(render(("Response", "Error"), [*ok, ("Message", "Authentication failed")]))
                    elif not logged_in:
                        writer.write(render(("Response", "Error"), [*ok, ("Message", "Permission denied")]))
                    elif name == "ping":
                        self.pings += 1
                        if self.answer_pings:
                            writer.write(render(("Response", "Success"), [*ok, ("Ping", "Pong")]))
                    elif name == "coreshowchannels":
                        writer.write(
                            render(
                                ("Response", "Success"),
                                [*ok, ("EventList", "start"), ("Message", "Channels will follow")],
                            )
                        )
                        for chan in self.channels.values():
                            writer.write(render(("Event", "CoreShowChannel"), [*ok, *chan.snapshot().items()]))
                        writer.write(
                            render(
                                ("Event", "CoreShowChannelsComplete"),
                                [*ok, ("EventList", "Complete"), ("ListItems", str(len(self.channels)))],
                            )
                        )
                    elif name == "queuestatus":
                        writer.write(
                            render(
                                ("Response", "Success"),
                                [*ok, ("EventList", "start"), ("Message", "Queue status will follow")],
                            )
                        )
                        writer.write(
                            render(
                                ("Event", "QueueMember"),
                                [
                                    *ok,
                                    ("Queue", "sales"),
                                    ("MemberName", "agent-7"),
                                    ("Location", "PJSIP/1001"),
                                    ("StateInterface", "PJSIP/1001"),
                                    ("Status", "1"),
                                    ("Paused", "0"),
                                ],
                            )
                        )
                        writer.write(render(("Event", "QueueStatusComplete"), [*ok, ("EventList", "Complete")]))
                    elif name == "originate":
                        writer.write(
                            render(("Response", "Success"), [*ok, ("Message", "Originate successfully queued")])
                        )
                        cid = msg.get("ChannelId") or f"orig-{next(self._originated)}"
                        device = (msg.get("Channel") or "").split("/", 1)[-1]
                        peer = self.by_name(msg.get("Data") or "") if msg.get("Application") == "Bridge" else None
                        self.new_channel(
                            cid,
                            peer.linkedid if peer else cid,  # bridging gives both legs the older Linkedid
                            f"PJSIP/{device}-{next(self._originated):08x}",
                            state=6,
                            caller=device,
                            exten=msg.get("Exten") or "",
                        )
                        if peer is not None:
                            self.bridge(f"bridge-{cid}", [peer.uniqueid, cid])
                    elif name == "redirect":
                        self.redirects.append(msg)
                        moved = [self.by_name(msg.get(h) or "") for h in ("Channel", "ExtraChannel")]
                        if moved[0] is None:
                            writer.write(render(("Response", "Error"), [*ok, ("Message", "Channel does not exist")]))
                        else:
                            writer.write(render(("Response", "Success"), [*ok, ("Message", "Redirect successful")]))
                            if msg.get("Context") == "ccenter-conference":
                                room = msg.get("Exten") or ""
                                self.conference_rooms.setdefault(room, [])
                                self.conference_rooms[room] += [c.uniqueid for c in moved if c is not None]
                                self.bridge(f"conf-{room}", self.conference_rooms[room])
                    elif name == "hangup":
                        target = [u for u, c in self.channels.items() if c.channel == msg.get("Channel")]
                        if target:
                            self.hangup(target[0])
                            writer.write(render(("Response", "Success"), [*ok, ("Message", "Channel Hungup")]))
                        else:
                            writer.write(render(("Response", "Error"), [*ok, ("Message", "No such channel")]))
                    elif name == "setvar":
                        chan = next(c for c in self.channels.values() if c.channel == msg.get("Channel"))
                        self.broadcast(
                            "VarSet",
                            chan.snapshot() | {"Variable": msg.get("Variable") or "", "Value": msg.get("Value") or ""},
                        )
                        writer.write(render(("Response", "Success"), [*ok, ("Message", "Variable Set")]))
                    elif name in ("bridge", "playdtmf", "queuepause", "queueadd", "queueremove", "muteaudio"):
                        writer.write(render(("Response", "Success"), ok))
                    elif name == "logoff":
                        writer.write(render(("Response", "Goodbye"), [*ok, ("Message", "Thanks for all the fish.")]))
                        await writer.drain()
                        break
                    else:
                        writer.write(render(("Response", "Error"), [*ok, ("Message", "Invalid/unknown command")]))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            if writer in self._clients:
                self._clients.remove(writer)
            writer.close()
