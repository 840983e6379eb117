"""REST look-up nodes against a real HTTP server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from bench._ports import free_port
from ivr.engine import Transfer
from ivr.errors import LookupUnavailable
from ivr.flow import json_path, parse_flow
from ivr.rest import HttpRestClient

from .helpers import drive, new_session

RELEASE = threading.Event()


class Handler(BaseHTTPRequestHandler):
    seen: list[str] = []  # noqa: RUF012 - shared on purpose: the test reads what the server got

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        Handler.seen.append(query.get("phone", [""])[0])
        if url.path == "/customers":
            phone = query.get("phone", [""])[0]
            if phone == "+14155550100":
                body = {"customer": {"id": "C77", "tier": "VIP", "segment": "business"}, "open_bills": 2}
                self.reply(200, json.dumps(body).encode())
            else:
                self.reply(404, b'{"error": "not found"}')
        elif url.path == "/slow":
            RELEASE.wait(10)
            self.reply(200, b"{}")
        elif url.path == "/error":
            self.reply(500, b'{"error": "down"}')
        elif url.path == "/text":
            self.reply(200, b"hello", "text/plain")
        elif url.path == "/list":
            self.reply(200, b"[1, 2]")
        else:
            self.reply(404, b"{}")


@pytest.fixture
def server() -> Iterator[str]:
    RELEASE.clear()
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        RELEASE.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def client() -> Iterator[HttpRestClient]:
    rest = HttpRestClient()
    yield rest
    rest.close()


def rest_flow(base: str, path: str = "/customers?phone={caller}") -> str:
    return (
        "flow: rest\nstart: find\nfallback: agent\nnodes:\n"
        "  find:\n    type: lookup\n    by: rest\n"
        f'    url: "{base}{path}"\n'
        "    timeout_s: 0.5\n"
        "    map: {customer_id: customer.id, tier: customer.tier, segment: customer.segment, bills: open_bills}\n"
        "    found: vip_check\n    not_found: unknown\n    error: down\n"
        "  vip_check:\n    type: condition\n    branches: [{when: {tier: VIP}, next: vip}]\n    else: agent\n"
        "  vip: {type: transfer, queue: vip}\n"
        "  unknown: {type: transfer, queue: new_customers}\n"
        "  down: {type: transfer, queue: general, priority: 1}\n"
        "  agent: {type: transfer, queue: general}\n"
    )


def test_rest_lookup_identifies_the_caller(server: str, client: HttpRestClient) -> None:
    session = new_session(flow=parse_flow(rest_flow(server)), rest=client)
    actions = drive(session, [])
    transfer = actions[-1]
    assert isinstance(transfer, Transfer) and transfer.queue == "vip"
    assert Handler.seen == ["+14155550100"]  # the '+' arrived URL-encoded
    fields = transfer.data["fields"]
    assert fields["customer_id"]["value"] == "C77"
    assert fields["identified_by"]["value"] == "rest"
    assert fields["segment"]["set_by"] == {"kind": "ivr", "name": "find"}
    assert session.vars["bills"] == 2


def test_rest_lookup_not_found(server: str, client: HttpRestClient) -> None:
    session = new_session("+14155550999", flow=parse_flow(rest_flow(server)), rest=client)
    actions = drive(session, [])
    assert isinstance(actions[-1], Transfer) and actions[-1].queue == "new_customers"


@pytest.mark.parametrize("path", ["/slow", "/error", "/text", "/list"])
@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match=r"^call call-1: look-up find failed: REST look-up ")
def test_rest_lookup_failures_follow_error_exit(
    server: str, client: HttpRestClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    session = new_session(flow=parse_flow(rest_flow(server, path)), rest=client)
    actions = drive(session, [])
    assert isinstance(actions[-1], Transfer) and actions[-1].queue == "general" and actions[-1].priority == 1
    assert "look-up find failed" in caplog.text


def test_http_client_errors(server: str, client: HttpRestClient) -> None:
    with pytest.raises(LookupUnavailable, match=r"timed out after 0\.3 s"):
        client.get_json(f"{server}/slow", 0.3)
    with pytest.raises(LookupUnavailable, match="HTTP 500"):
        client.get_json(f"{server}/error", 1)
    with pytest.raises(LookupUnavailable, match="did not answer JSON"):
        client.get_json(f"{server}/text", 1)
    with pytest.raises(LookupUnavailable, match="not answer a JSON object"):
        client.get_json(f"{server}/list", 1)
    assert client.get_json(f"{server}/nothing", 1) is None
    port = free_port(udp=False)  # nothing listens there
    with pytest.raises(LookupUnavailable, match="failed: ConnectionError"):
        client.get_json(f"http://127.0.0.1:{port}/", 1)


def test_json_path() -> None:
    body = {"a": {"b": {"c": 1}}, "x": [1]}
    assert json_path(body, "a.b.c") == 1
    assert json_path(body, "a.z") is None
    assert json_path(body, "x.y") is None
