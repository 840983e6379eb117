"""A test order and billing system (BOSS) on loopback, for the connectors' and the API's tests.

It speaks its own dialect on purpose (``externalId``, ``offer.code``, ``orderId``, upper-case
states), so the connectors' field mapping is exercised, not bypassed. It keeps orders by
``Idempotency-Key`` (a repeated key gets the first answer back and creates nothing), moves each
order one state on every :meth:`TestBoss.advance`, and can fail on purpose: answer 503
(:attr:`fail_next`), do the work and then drop the connection before answering
(:attr:`lose_answers`, the case idempotency keys exist for), or be down altogether (:meth:`stop`,
then :meth:`start` again on the same port).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ORDER_STATES = ("SUBMITTED", "CREDIT_CHECK", "PROVISIONING", "INSTALLED", "DONE")
REQUEST_STATES = ("NEW", "DIAGNOSED", "FIXED", "CLOSED")

#: The configuration a connector needs to speak to it: paths, field names and state names.
DIALECT: dict[str, Any] = {
    "paths": {"create_order": "/v2/orders", "order_status": "/v2/orders/{ref}",
              "create_service_request": "/v2/tickets", "service_request_status": "/v2/tickets/{ref}",
              "bill": "/v2/accounts/{account_number}/bill",
              "products": "/v2/accounts/{account_number}/assets"},
    "fields": {
        "order": {"id": "externalId", "product": "offer.code", "quantity": "offer.quantity",
                  "account_number": "customer.account", "customer_name": "customer.name"},
        "order_status": {"reference": "orderId", "state": "status"},
        "service_request": {"id": "externalId", "category": "type", "summary": "text",
                            "account_number": "customer.account"},
        "service_request_status": {"reference": "ticketId", "state": "status"},
        "bill": {"balance": "balance.value", "amount_due": "due.value", "currency": "balance.currency",
                 "due_date": "due.date", "lines": "items"},
        "product": {"kind": "type", "name": "label", "identifier": "msisdn", "status": "state",
                    "contract_end": "commitment.until"},
    },
    "states": {"SUBMITTED": "submitted", "CREDIT_CHECK": "credit_check", "PROVISIONING": "provisioning",
               "INSTALLED": "installed", "DONE": "completed", "NEW": "opened", "DIAGNOSED": "diagnosed",
               "FIXED": "resolved", "CLOSED": "closed"},
}


@dataclass
class Record:
    reference: str
    kind: str
    body: dict[str, Any]
    states: tuple[str, ...]
    step: int = 0

    @property
    def state(self) -> str:
        return self.states[self.step]


@dataclass
class TestBoss:
    __test__ = False  # not a test class, for pytest

    port: int = 0
    records: dict[str, Record] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    #: Bodies received, in arrival order, once per record created (not per retry).
    created: list[dict[str, Any]] = field(default_factory=list)
    requests_seen: int = 0
    fail_next: int = 0
    lose_answers: int = 0
    bills: dict[str, dict[str, Any]] = field(default_factory=dict)
    assets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    diagnosis_fields: dict[str, Any] = field(default_factory=lambda: {"diagnosis": "line noise", "resolution": "fixed"})
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _connections: set[socket.socket] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TestBoss:
        boss = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with boss._lock:
                    boss._connections.add(self.connection)

            def finish(self) -> None:
                with boss._lock:
                    boss._connections.discard(self.connection)
                super().finish()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _drop(self) -> None:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                kind = {"/v2/orders": "order", "/v2/tickets": "ticket"}.get(self.path)
                if kind is None:
                    self._answer(404, {"error": "no such path"})
                    return
                with boss._lock:
                    boss.requests_seen += 1
                    if boss.fail_next:
                        boss.fail_next -= 1
                        self._answer(503, {"error": "busy"})
                        return
                    key = self.headers.get("Idempotency-Key")
                    if not key:
                        self._answer(400, {"error": "Idempotency-Key required"})
                        return
                    if key in boss.by_key:
                        record = boss.records[boss.by_key[key]]
                    else:
                        prefix = "ORD" if kind == "order" else "TCK"
                        record = Record(f"{prefix}-{len(boss.records) + 1:05d}", kind, body,
                                        ORDER_STATES if kind == "order" else REQUEST_STATES)
                        boss.records[record.reference] = record
                        boss.by_key[key] = record.reference
                        boss.created.append(body)
                    lose = boss.lose_answers > 0
                    if lose:
                        boss.lose_answers -= 1
                if lose:
                    self._drop()
                    return
                self._answer(201, self._status(record))

            def _status(self, record: Record) -> dict[str, Any]:
                ref_key = "orderId" if record.kind == "order" else "ticketId"
                answer: dict[str, Any] = {ref_key: record.reference, "status": record.state}
                if record.kind == "ticket":
                    answer["fields"] = boss.diagnosis_fields
                return answer

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                with boss._lock:
                    boss.requests_seen += 1
                    if boss.fail_next:
                        boss.fail_next -= 1
                        self._answer(503, {"error": "busy"})
                        return
                    if len(parts) == 3 and parts[1] in ("orders", "tickets") and parts[2] in boss.records:
                        self._answer(200, self._status(boss.records[parts[2]]))
                        return
                    if len(parts) == 4 and parts[1] == "accounts" and parts[3] == "bill" and parts[2] in boss.bills:
                        self._answer(200, boss.bills[parts[2]])
                        return
                    if len(parts) == 4 and parts[1] == "accounts" and parts[3] == "assets" and parts[2] in boss.assets:
                        self._answer(200, {"items": boss.assets[parts[2]]})
                        return
                self._answer(404, {"error": "not found"})

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-boss", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down: open connections are cut and the port refuses new ones until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def advance(self, steps: int = 1) -> None:
        """Every record moves ``steps`` states on (and stays at its last)."""
        with self._lock:
            for record in self.records.values():
                record.step = min(record.step + steps, len(record.states) - 1)

    def connector_table(self, **overrides: Any) -> dict[str, Any]:
        table = {"url": self.url, "timeout_s": 2, "retries": 3, "backoff_s": 0.001, "breaker_threshold": 50,
                 "breaker_cool_down_s": 0.05, **DIALECT}
        table.update(overrides)
        return table
