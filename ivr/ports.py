"""Answering the engine's requests from the ports: :class:`~ivr.lookup.CustomerLookup` and REST.

The engine (:mod:`ivr.engine`) asks for data with typed requests and does no I/O. A driver answers
them through :class:`Ports`: :meth:`Ports.perform` runs one request against the ports (it blocks:
an async driver runs it in a worker thread) and returns an :class:`Answered` or a :class:`Failed`
outcome, which :func:`feed` gives back to the session.

A look-up that cannot reach its data (:class:`~ivr.errors.LookupUnavailable`) is a failed outcome
with the reason; any other exception of an adapter is logged with its traceback and is a failed
outcome too, so a broken adapter sends the caller down the flow's error exit, never to a dead end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .engine import (
    Action,
    FindCustomerByAccount,
    FindCustomersByPhone,
    GetBalance,
    GetJson,
    GetLatestOrder,
    GetOpenServiceRequest,
    IvrSession,
    Request,
    VerifyPin,
)
from .errors import LookupUnavailable
from .lookup import CustomerLookup
from .rest import HttpRestClient, RestClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answered:
    value: Any


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str


Outcome = Answered | Failed


@dataclass(slots=True)
class Ports:
    """The customer data and the REST client that answer a session's requests.

    Without a REST client, each :class:`~ivr.engine.GetJson` gets a fresh :class:`HttpRestClient`,
    closed after the request.
    """

    lookup: CustomerLookup
    rest: RestClient | None = None

    def perform(self, request: Request, call_id: str = "?") -> Outcome:
        """Run ``request`` against the ports (blocking) and return its outcome; never raises."""
        try:
            return Answered(self._query(request))
        except LookupUnavailable as exc:
            return Failed(str(exc))
        except Exception as exc:
            logger.exception("call %s: look-up %s failed", call_id, request.node)
            return Failed(f"the look-up raised {type(exc).__name__}")

    def _query(self, request: Request) -> Any:
        lookup = self.lookup
        if isinstance(request, FindCustomersByPhone):
            return lookup.by_phone(request.number)
        if isinstance(request, FindCustomerByAccount):
            return lookup.by_account(request.account)
        if isinstance(request, VerifyPin):
            return lookup.verify_pin(request.account, request.pin.reveal())
        if isinstance(request, GetBalance):
            return lookup.balance(request.account)
        if isinstance(request, GetLatestOrder):
            return lookup.order_status(request.customer_id)
        if isinstance(request, GetOpenServiceRequest):
            return lookup.service_request_status(request.customer_id)
        if isinstance(request, GetJson):
            if self.rest is not None:
                return self.rest.get_json(request.url, request.timeout_s)
            client = HttpRestClient()
            try:
                return client.get_json(request.url, request.timeout_s)
            finally:
                client.close()
        raise AssertionError(f"no port answers {type(request).__name__}")  # pragma: no cover


def feed(session: IvrSession, outcome: Outcome, now: float) -> list[Action]:
    """Give ``outcome`` to the session waiting on it; return what the session does next."""
    if isinstance(outcome, Answered):
        return session.answer(outcome.value, now)
    return session.lookup_failed(outcome.reason, now)
