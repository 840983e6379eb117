"""The message connector: campaign ``sms`` and ``email`` work items sent through the operator's gateway.

:class:`MessageConnector` posts one message as JSON to a REST webhook with :mod:`requests` (blocking;
run it in a worker thread): a timeout on every request, retries with backoff on connection errors,
timeouts, ``429`` and ``5xx``, and an ``Idempotency-Key`` header that stays the same across the
retries of one send (``ccenter-<work item>-<attempt>``), so a gateway that saw a request whose answer
was lost does not send the message twice. ``2xx`` is sent (the gateway's ``id`` is kept), another
``4xx`` is a rejection (the address cannot take it; not retried), anything else after the retries
is a failure that the campaign's ``rules.retry`` tries again later.

:class:`MessageSender` is what ``ccenter dialer --messages-url`` runs: every few seconds it asks the
database for the messages due (:func:`crm.repository.due_messages`: the same eligibility rules as
calls), sends them and records each result on its work item (:func:`crm.repository.record_message`),
and keeps the decisions that refused one for ``ccenter campaign why``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from crm import db, repository
from crm.repository import DialDecisionRecord, OutboundMessage

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class SendResult:
    result: str  # "sent", "failed" or "rejected" (crm.repository.MESSAGE_RESULTS)
    provider_ref: str | None = None
    reason: str | None = None


def _plain(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


class MessageConnector:
    """Posts messages to ``url``; ``token``: sent as ``Authorization: Bearer``."""

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 5.0, retries: int = 3,
                 backoff_s: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the message gateway's URL must be http:// or https://, not {url!r}")
        self.url = url
        self.token = token
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def send(self, message: OutboundMessage) -> SendResult:
        if not message.to:
            what = "phone number" if message.channel == "sms" else "e-mail address"
            return SendResult("rejected", reason=f"the customer has no {what}")
        body: dict[str, Any] = {
            "channel": message.channel, "to": message.to, "subject": message.subject, "text": message.text,
            "campaign_id": message.campaign_key, "work_item_id": message.work_item_id,
            "customer_id": message.customer_id, "customer_name": message.customer_name,
            "language": message.language,
        }
        headers = {"Idempotency-Key": message.idempotency_key, "User-Agent": "ccenter-dialer"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        reason = "not tried"
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self.http.post(self.url, json=body, headers=headers, timeout=self.timeout_s)
            except requests.Timeout:
                reason = f"no answer within {self.timeout_s:g} s"
                continue
            except requests.RequestException as exc:
                reason = f"cannot reach the message gateway ({type(exc).__name__})"
                continue
            if 200 <= response.status_code < 300:
                return SendResult("sent", provider_ref=self._ref(response))
            if response.status_code in RETRY_STATUS:
                reason = f"the message gateway answered {response.status_code}"
                continue
            return SendResult("rejected", reason=_plain(f"{response.status_code}: {response.text}"))
        return SendResult("failed", reason=reason)

    @staticmethod
    def _ref(response: requests.Response) -> str | None:
        try:
            body = response.json()
        except ValueError:
            return None
        ref = body.get("id") if isinstance(body, dict) else None
        return _plain(str(ref), 128) if ref is not None else None


class MessageSender:
    """Sends the due campaign messages in batches; ``await sender.step()`` now and then."""

    def __init__(self, connector: MessageConnector, sessions: Callable[[], db.Session], *,
                 clock: Callable[[], float] = time.time, batch: int = 50, site: str = "main") -> None:
        self.connector = connector
        self.site = site  # the campaigns of this site only
        self.sessions = sessions
        self.clock = clock
        self.batch = batch
        self.sent = 0
        self.failed = 0
        self.rejected = 0
        self._not_before: dict[int, float] = {}  # refused items, until their decision may change
        #: The numbers on a call now (the dialer's :meth:`DialerCore.numbers_in_call`): their customers get
        #: no message until the call is over.
        self.in_call: Callable[[], set[str]] = set
        self.region = "US"  # of numbers written without a country code (the dialer's)

    async def step(self) -> int:
        """Send one batch; returns how many messages were handed to the gateway."""
        now_s = self.clock()
        now = datetime.fromtimestamp(now_s, UTC)
        self._not_before = {k: v for k, v in self._not_before.items() if v > now_s}
        skip = tuple(sorted(self._not_before))
        busy = frozenset(self.in_call())
        due, refused = await asyncio.to_thread(self._in_db, lambda s: repository.due_messages(
            s, now=now, limit=self.batch, skip=skip, in_call=busy, region=self.region, site=self.site))
        records = [DialDecisionRecord(now, key, item_id, phone, False, d.rule.value, d.reason, d.retry_at)
                   for item_id, key, phone, d in refused]
        for item_id, _key, _phone, d in refused:
            self._not_before[item_id] = d.retry_at.timestamp() if d.retry_at else now_s + 3600.0
        for message in due:
            result = await asyncio.to_thread(self.connector.send, message)
            at = datetime.fromtimestamp(self.clock(), UTC)
            logger.info("%s for work item %d of %s: %s%s", message.channel, message.work_item_id,
                        message.campaign_key, result.result, f" ({result.reason})" if result.reason else "")
            await asyncio.to_thread(self._in_db, functools.partial(self._record, message=message, result=result, at=at))
            phone = message.to if message.channel == "sms" else None
            records.append(DialDecisionRecord(now, message.campaign_key, message.work_item_id, phone, True,
                                              "eligible", f"{message.channel} {result.result}"))
            setattr(self, result.result, getattr(self, result.result) + 1)
        if records:
            await asyncio.to_thread(self._in_db, lambda s: repository.record_dial_decisions(s, records))
        return len(due)

    @staticmethod
    def _record(session: db.Session, *, message: OutboundMessage, result: SendResult, at: datetime) -> None:
        repository.record_message(session, message, result=result.result, at=at, provider_ref=result.provider_ref,
                                  reason=result.reason)

    def _in_db(self, work: Callable[[db.Session], Any]) -> Any:
        with self.sessions() as session, session.begin():
            return work(session)
