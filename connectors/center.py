"""The desktop's way to customer data in production: ``ccenter api`` with the agent's own token.

:class:`CenterDirectory` has the blocking look-ups and writes of the desktop's in-process
directory (``agent_desktop.customer_window.CustomerDirectory``) — search, the 360 view, look-up by
phone, preview work, dispositions, transfer targets, new customers — and :meth:`save_contact` for
the contact outbox, over HTTP. :meth:`authenticate` logs the agent in with their own password and
keeps the token it gets: the workstation holds no database credentials. Answers come back as the
same frozen dataclasses the repository returns, so the desktop cannot tell the two apart.

A server that does not answer is :class:`ApiUnavailable` (a :class:`~crm.errors.DatabaseUnavailable`,
so the desktop's outbox keeps the contact and tries again later); refusals become the data layer's
errors (404 :class:`~crm.errors.NotFound`, 422 :class:`~crm.errors.InvalidData`, ...).
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import types
import typing
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from crm import repository
from crm.errors import CrmError, DatabaseUnavailable, InvalidData, NotFound
from crm.repository import (
    AgentView,
    Customer360,
    CustomerSummary,
    PreviewItem,
    SavedContact,
)
from crm.repository.workflows import WorkflowStatus
from crm.workflows import Subject, TransitionRefused

from .boss import LiveBill, Product

T = TypeVar("T")


class ApiUnavailable(DatabaseUnavailable):
    """``ccenter api`` does not answer (or answers 5xx): try again in a moment."""


class NotConnected(CrmError):
    """No billing or order system is connected (``ccenter api`` answers 501): there is nothing to ask."""


class NotAllowed(CrmError):
    """The agent's token may not do this (403), or it expired (401)."""


def build(tp: Any, value: Any) -> Any:
    """JSON ``value`` as an instance of the annotated type ``tp`` (dataclasses, tuples, enums, decimals, times)."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return build(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(build(args[0], v) for v in value)
        return tuple(build(a, v) for a, v in zip(args, value, strict=False))
    if origin is list:
        return [build(typing.get_args(tp)[0], v) for v in value]
    if origin is dict:
        return dict(value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: build(hints[f.name], value[f.name]) for f in dataclasses.fields(tp) if f.name in value})
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return tp(value)
        if tp is Decimal:
            return Decimal(str(value))
        if tp is datetime:
            return datetime.fromisoformat(value)
    return value


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class CenterDirectory:
    """Blocking calls for worker threads; one HTTP connection pool per thread-safe ``requests`` session."""

    def __init__(self, base_url: str, region: str = "US", *, timeout_s: float = 5.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.region = region
        self.timeout_s = timeout_s
        self._http = session or requests.Session()
        self._token: str | None = None
        self._lock = threading.Lock()
        self.agent: AgentView | None = None

    def close(self) -> None:
        self._http.close()

    # --- HTTP ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, json: Any = None, params: Any = None, auth: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"} if auth and self._token else {}
        try:
            response = self._http.request(method, self.base_url + path, json=json, params=params, headers=headers,
                                          timeout=self.timeout_s)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ApiUnavailable(f"the server ({self.base_url}) does not answer; try again in a moment") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except (ValueError, AttributeError):
                detail = None
            text = detail if isinstance(detail, str) else response.reason
            if response.status_code == 501:
                raise NotConnected(text)
            if response.status_code >= 500:
                raise ApiUnavailable(f"the server ({self.base_url}) answered {response.status_code}"
                                     f"{': ' + detail if isinstance(detail, str) else ''}; try again in a moment")
            if response.status_code == 404:
                raise NotFound(text)
            if response.status_code == 409:
                raise TransitionRefused(text)
            if response.status_code in (401, 403):
                raise NotAllowed(text)
            raise InvalidData(text)
        return response.json() if response.content else None

    def _as(self, tp: type[T], value: Any) -> T:
        return typing.cast(T, build(tp, value))

    # --- what the desktop calls ----------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> AgentView | None:
        try:
            answer = self._call("POST", "/v1/auth/login", json={"login": login, "password": password}, auth=False)
        except NotAllowed:
            return None
        with self._lock:
            self._token = answer["token"]
        self.agent = self._as(AgentView, answer["agent"])
        return self.agent

    def search(self, text: str) -> list[CustomerSummary]:
        if not text.strip():
            return []
        return [self._as(CustomerSummary, c) for c in self._call("GET", "/v1/desk/customers",
                                                                params={"q": text.strip()[:100]})]

    def load(self, customer_id: int) -> Customer360:
        return self._as(Customer360, self._call("GET", f"/v1/desk/customers/{customer_id}"))

    def find_by_phone(self, number: str) -> list[CustomerSummary]:
        if not number.strip():
            return []
        found = self._call("GET", f"/v1/desk/customers/by-phone/{quote(number.strip()[:32], safe='')}")
        return [self._as(CustomerSummary, c) for c in found]

    def live_bill(self, customer_id: int) -> LiveBill:
        """The live bill and balance from billing; :class:`ApiUnavailable` when billing is slow or away."""
        return self._as(LiveBill, self._call("GET", f"/v1/desk/customers/{customer_id}/bill"))

    def products(self, customer_id: int) -> tuple[Product, ...]:
        """What the customer holds, from the order system; :class:`ApiUnavailable` when it is slow or away."""
        return tuple(self._as(Product, p) for p in self._call("GET", f"/v1/desk/customers/{customer_id}/products"))

    def next_preview(self, agent_id: int, skip: tuple[int, ...] = ()) -> PreviewItem | None:
        answer = self._call("GET", "/v1/desk/preview", params={"skip": list(skip)})
        return self._as(PreviewItem, answer) if answer else None

    def skip_preview(self, work_item_id: int, reason: str, agent_id: int) -> None:
        self._call("POST", f"/v1/desk/preview/{work_item_id}/skip", json={"reason": reason})

    def schedule_preview(self, work_item_id: int, at: datetime, agent_id: int) -> None:
        self._call("POST", f"/v1/desk/preview/{work_item_id}/schedule", json={"at": at.isoformat()})

    def dial_attempt(self, work_item_id: int, result: str, agent_id: int, call_id: str) -> None:
        self._call("POST", f"/v1/desk/preview/{work_item_id}/attempts", json={"result": result, "call_id": call_id})

    def _settings(self) -> dict[str, Any]:
        return dict(self._call("GET", "/v1/desk/settings"))

    def queues(self) -> list[repository.QueueView]:
        return [self._as(repository.QueueView, q) for q in self._settings()["queues"]]

    def queue_dispositions(self) -> dict[str, tuple[str, ...]]:
        return {q.name: q.dispositions for q in self.queues() if q.dispositions}

    def campaign_dispositions(self) -> dict[str, tuple[str, ...]]:
        return {k: tuple(v) for k, v in self._settings()["campaign_dispositions"].items()}

    def transfer_targets(self) -> list[tuple[str, str]]:
        return [(label, extension) for label, extension in self._settings()["transfer_targets"]]

    def create_customer(self, name: str, number: str | None) -> int:
        return int(self._call("POST", "/v1/desk/customers", json={"name": name, "phone": number or None})["id"])

    def save_contact(self, record: repository.ContactRecord) -> SavedContact:
        return self._as(SavedContact, self._call("POST", "/v1/desk/contacts", json=_plain(record)))

    def workflow(self, subject: Subject, item_id: int) -> WorkflowStatus:
        return self._as(WorkflowStatus, self._call("GET", f"/v1/desk/{subject.value}/{item_id}/workflow"))

    def move(self, subject: Subject, item_id: int, transition: str, fields: dict[str, Any] | None = None, *,
             agent_login: str = "desktop") -> WorkflowStatus:
        """Take a step as the logged-in agent (the server names the mover from the token, not ``agent_login``)."""
        answer = self._call("POST", f"/v1/desk/{subject.value}/{item_id}/moves",
                            json={"transition": transition, "fields": fields or {}})
        return self._as(WorkflowStatus, answer)

    def communication_feedback(self, communication_id: int, contact_id: int) -> None:
        self._call("POST", f"/v1/desk/communications/{communication_id}/feedback", json={"contact_id": contact_id})
