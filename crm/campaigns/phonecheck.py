"""A target list's phone cells checked with ``phonenumbers``: what a worker process of an import runs.

Pure (no database layer is imported), so that a worker process starts in a fraction of a second.
``phonenumbers`` stays the authority on every number: :func:`check_phone` asks it once for the
number's type (a valid number is one it gives a type) and takes the time zone from that type.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

from .. import phones
from ..errors import InvalidPhoneNumber


@dataclass(frozen=True, slots=True)
class CheckedPhone:
    """A phone cell read as a valid number (E.164 and its time zone, when it has one), or why not."""

    e164: str | None
    zone: str | None = None
    error: str | None = None


def check_phone(raw: str, region: str) -> CheckedPhone:
    """``raw`` read as :func:`crm.phones.parse` reads it with ``valid_only``, and its time zone."""
    try:
        number, kind = phones.parse_valid_typed(raw, region)
    except InvalidPhoneNumber as exc:
        return CheckedPhone(None, error=str(exc))
    zone = phones.zone_of_typed(number, kind)
    return CheckedPhone(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), str(zone) if zone else None
    )


def check_many(raws: list[str], region: str) -> list[CheckedPhone]:
    return [check_phone(raw, region) for raw in raws]
