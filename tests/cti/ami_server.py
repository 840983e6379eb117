"""A small Asterisk stand-in for tests: speaks AMI over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from dataclasses import dataclass, field

from cti.ami.codec import AmiDecoder, AmiMessage
from cti.ami.permissions import ACTION_CLASSES, allowed


def render(first: tuple[str, str], headers: dict[str, str] | list[tuple[str, str]]) -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    return ("".join(f"{k}: {v}\r\n" for k, v in [first, *items]) + "\r\n").encode()


def list_commands(action_id: str, write: list[str]) -> bytes:
    """Asterisk's answer to ListCommands: one ``Name: synopsis (Priv: classes)`` header per action the
    account may run (the actions of :data:`cti.ami.permissions.ACTION_CLASSES`)."""
    headers = [("ActionID", action_id)]
    for action, classes in ACTION_CLASSES.items():
        if allowed(action, write):
            priv = ",".join(sorted(classes)) + ",all" if classes else "<none>"
            headers.append((action.capitalize(), f"{action} (Priv: {priv})"))
    return render(("Response", "Success"), headers)


def permission_denied(action_id: str) -> bytes:
    return render(("Response", "Error"), [("ActionID", action_id), ("Message", "Permission denied")])


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
    write: list[str] = field(default_factory=lambda: ["all"])  # the account's manager.conf write classes
    port: int = 0
    _clients: list[asyncio.StreamWriter] = field(default_factory=list)
    _handlers: dict[asyncio.Task[None], asyncio.StreamWriter] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    redirects: list[AmiMessage] = field(default_factory=list)
    conference_rooms: dict[str, list[str]] = field(default_factory=dict)
    _challenges: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _originated: itertools.count[int] = field(default_factory=lambda: itertools.count(0x100))

    async def start(self) -> None:
        """Listen (again, after :meth:`stop`, on the same port: Asterisk back after a restart)."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every connection, logged in or not, and wait for their handlers:
        none is left for the event loop's shutdown to cancel."""
        self.drop_clients()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for writer in self._handlers.values():
            writer.transport.abort()
        if self._handlers:
            await asyncio.wait(list(self._handlers))

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
        task = asyncio.current_task()
        assert task is not None
        self._handlers[task] = writer
        task.add_done_callback(self._handlers.pop)
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
                    elif not logged_in or not allowed(name, self.write):
                        writer.write(permission_denied(aid))
                    elif name == "listcommands":
                        writer.write(list_commands(aid, self.write))
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


# -- replaying a real Asterisk's traffic -----------------------------------------------------------

_BANNER = b"Asterisk Call Manager/"


def manager_accounts(conf: str) -> dict[str, dict[str, str]]:
    """The accounts of a manager.conf: ``{name: {"secret": ..., "write": ..., "read": ...}}``."""
    accounts: dict[str, dict[str, str]] = {}
    section: dict[str, str] | None = None
    for raw in conf.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            section = None if name == "general" else accounts.setdefault(name, {})
        elif "=" in line and section is not None:
            key, _, value = line.partition("=")
            section[key.strip().lower()] = value.strip()
    return accounts


def _guess_action(response: AmiMessage) -> str:
    """The action a captured response answers, for captures recorded without the client's side."""
    if response.get("Challenge"):
        return "challenge"
    message = (response.get("Message") or "").lower()
    if message.startswith("authentication"):
        return "login"
    if "channels will follow" in message:
        return "coreshowchannels"
    if "queue status will follow" in message:
        return "queuestatus"
    if response.get("Ping"):
        return "ping"
    return "?"


@dataclass
class ReplayAsterisk:
    """Plays back a capture of what a real Asterisk sent (``.ami``) as a TCP AMI server.

    The capture is played in order. A captured response waits until the client sends the action it
    answers (by name; the client's ``ActionID`` replaces the captured one, also on the events of a
    list), so the client drives the capture forward exactly as the gateway drove Asterisk; events
    are sent as they come. Actions the capture does not answer next are answered here: ``Ping``,
    ``ListCommands`` from the account's ``write`` classes in ``manager.conf``, and a ``Permission
    denied`` for actions the account may not run (also when the capture has Asterisk's answer,
    which was recorded with an account allowed everything). The MD5 login is checked against the
    account's secret. A second banner in the capture (Asterisk restarted, or the link cut) drops the
    connection; the client's reconnection plays the next part.
    """

    capture: bytes
    manager_conf: str
    username: str = "ccenter"
    client_capture: bytes | None = None  # the ``.client.ami`` that names each captured ActionID's action
    port: int = 0
    actions: list[AmiMessage] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    _sessions: list[list[AmiMessage]] = field(default_factory=list)
    _names: dict[str, str] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = [p for p in self.capture.split(_BANNER) if p.strip()]
        for part in parts:
            body = part.split(b"\n", 1)[1] if b"\n" in part else b""
            self._sessions.append([m for m in AmiDecoder().feed(body) if isinstance(m, AmiMessage)])
        if self.client_capture is not None:
            for msg in AmiDecoder().feed(self.client_capture):
                if isinstance(msg, AmiMessage) and msg.action_id:
                    self._names[msg.action_id] = msg.name.lower()
        account = manager_accounts(self.manager_conf)[self.username]
        self.secret = account["secret"]
        self.write = [c.strip() for c in account.get("write", "").split(",") if c.strip()]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _action_of(self, response: AmiMessage) -> str:
        return self._names.get(response.action_id or "") or _guess_action(response)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._sessions:
            writer.close()
            return
        session = self._sessions.pop(0)
        last = not self._sessions
        self._writers.append(writer)
        writer.write(_BANNER + b"13.0.0\r\n")
        inbox: asyncio.Queue[AmiMessage | None] = asyncio.Queue()
        state = {"challenge": "", "logged_in": False}

        async def pump() -> None:
            decoder = AmiDecoder()
            while data := await reader.read(4096):
                for msg in decoder.feed(data):
                    if isinstance(msg, AmiMessage) and msg.kind == "action":
                        self.actions.append(msg)
                        await inbox.put(msg)
            await inbox.put(None)

        def answer_here(msg: AmiMessage) -> None:
            name, aid = msg.name.lower(), msg.action_id or ""
            if not state["logged_in"] or not allowed(name, self.write):
                self.denied.append(msg.name)
                writer.write(permission_denied(aid))
            elif name == "ping":
                writer.write(render(("Response", "Success"), [("ActionID", aid), ("Ping", "Pong")]))
            elif name == "listcommands":
                writer.write(list_commands(aid, self.write))
            elif name == "logoff":
                writer.write(render(("Response", "Goodbye"), [("ActionID", aid)]))
            else:
                writer.write(render(("Response", "Error"), [("ActionID", aid), ("Message", "not in the capture")]))

        async def wait_for(action: str) -> AmiMessage | None:
            """The client's next action named ``action``; others are answered here meanwhile."""
            while True:
                msg = await inbox.get()
                if msg is None:
                    return None
                if msg.name.lower() == action:
                    return msg
                answer_here(msg)
                await writer.drain()

        pumping = asyncio.create_task(pump())
        ids: dict[str, str] = {}
        skipped: set[str] = set()
        try:
            for msg in session:
                captured = msg.action_id
                if msg.kind == "response" and captured:
                    action = self._action_of(msg)
                    if action == "ping" or not allowed(action, self.write):
                        # the client's own pings are answered here; an action this account may not
                        # run is denied when the client sends it (and a client that checked does not)
                        skipped.add(captured)
                        continue
                    request = await wait_for(action)
                    if request is None:
                        return
                    aid = request.action_id or ""
                    ids[captured] = aid
                    if action == "login":
                        expected = hashlib.md5((state["challenge"] + self.secret).encode()).hexdigest()
                        good = request.get("Username") == self.username and request.get("Key") == expected
                        if not good:
                            writer.write(
                                render(("Response", "Error"), [("ActionID", aid), ("Message", "Authentication failed")])
                            )
                            return
                        state["logged_in"] = True
                    if action == "challenge":
                        state["challenge"] = msg.get("Challenge") or ""
                if captured in skipped:
                    continue
                headers = [(k, ids.get(v, v) if k.lower() == "actionid" else v) for k, v in msg.headers]
                writer.write(render(headers[0], headers[1:]))
                await writer.drain()
            if not last:
                writer.transport.abort()
                return
            self.finished.set()
            while (msg := await inbox.get()) is not None:  # the capture is over: stay, answer what comes
                answer_here(msg)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            pumping.cancel()
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()
