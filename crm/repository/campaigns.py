"""What the product reads of campaigns besides their work items."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    Campaign,
)


def campaign_dispositions(session: Session) -> dict[str, tuple[str, ...]]:
    """The disposition codes of the campaigns that define their own (``rules.dispositions``)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, rules in session.execute(select(Campaign.campaign_key, Campaign.rules)):
        codes = (rules or {}).get("dispositions")
        if isinstance(codes, list) and codes and all(isinstance(c, str) and c for c in codes):
            out[key] = tuple(codes)
    return out
