"""Customers' consent to marketing, by channel: recorded, and read back as the eligibility rules need it.

A customer's consent records (the ``consent`` table) say, per channel, whether they agreed to
marketing or refused it, and when. The newest record for the channel, or for ``all`` channels,
decides (:func:`consent_states`); nothing on record is :attr:`ConsentState.UNKNOWN`, which a
campaign treats as agreement unless its ``rules.consent_required`` names the channel (opt-in).
The channels are the campaigns' (``outbound_call``, ``inbound_offer``, ``sms``) and ``email``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .campaigns.eligibility import ConsentState
from .campaigns.rules import CAMPAIGN_CHANNELS
from .errors import InvalidData, NotFound
from .models import Consent, Customer, utcnow

logger = logging.getLogger(__name__)

ALL = "all"
CHANNELS = (*CAMPAIGN_CHANNELS, ALL)
MARKETING = "marketing"
_CHUNK = 500


def record_consent(session: Session, customer_id: int, channel: str, *, granted: bool, source: str | None = None,
                   purpose: str = MARKETING, at: datetime | None = None) -> None:
    """What the customer said, on ``channel`` (or ``all``): it holds from now on, over older records."""
    if channel not in CHANNELS:
        raise InvalidData(f"unknown consent channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"no customer {customer_id}")
    session.add(Consent(customer_id=customer_id, channel=channel, purpose=purpose, granted=granted,
                        source=(source or "")[:64] or None, recorded_at=at or utcnow()))
    session.flush()
    logger.info("customer %d %s %s on %s", customer_id, "granted" if granted else "refused", purpose, channel)


def consent_states(session: Session, customer_ids: Iterable[int], channel: str, *,
                   purpose: str = MARKETING) -> dict[int, ConsentState]:
    """Each customer's consent on ``channel``: their newest record for it or for ``all`` (customers with
    none are left out: :attr:`ConsentState.UNKNOWN`)."""
    ids = sorted(set(customer_ids))
    states: dict[int, ConsentState] = {}
    for start in range(0, len(ids), _CHUNK):
        for customer_id, granted in session.execute(
            select(Consent.customer_id, Consent.granted)
            .where(Consent.customer_id.in_(ids[start:start + _CHUNK]), Consent.channel.in_((channel, ALL)),
                   Consent.purpose == purpose)
            .order_by(Consent.recorded_at, Consent.id)
        ):
            states[customer_id] = ConsentState.GRANTED if granted else ConsentState.REFUSED
    return states


def consent_state(session: Session, customer_id: int, channel: str, *, purpose: str = MARKETING) -> ConsentState:
    return consent_states(session, [customer_id], channel, purpose=purpose).get(customer_id, ConsentState.UNKNOWN)


def consent_overview(session: Session, customer_id: int, *, purpose: str = MARKETING
                     ) -> list[tuple[str, ConsentState, datetime | None, str | None]]:
    """Per channel (``all`` included), what decides for the customer now: (channel, state, when it was
    said, its source). Raises NotFound."""
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"no customer {customer_id}")
    newest: dict[str, Consent] = {}
    for record in session.scalars(select(Consent).where(Consent.customer_id == customer_id,
                                                        Consent.purpose == purpose)
                                  .order_by(Consent.recorded_at, Consent.id)):
        newest[record.channel] = record
    out: list[tuple[str, ConsentState, datetime | None, str | None]] = []
    every = newest.get(ALL)
    for channel in CHANNELS:
        own = newest.get(channel)
        deciding = own if channel == ALL else max(
            (r for r in (own, every) if r is not None), key=lambda r: (r.recorded_at, r.id), default=None)
        if deciding is None:
            out.append((channel, ConsentState.UNKNOWN, None, None))
        else:
            out.append((channel, ConsentState.GRANTED if deciding.granted else ConsentState.REFUSED,
                        deciding.recorded_at, deciding.source))
    return out
