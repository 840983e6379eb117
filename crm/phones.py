"""Phone numbers: everything is stored and compared in E.164, normalized with ``phonenumbers``.

Callers and agents type numbers in many forms (``+1 415-555-0100``, ``(415) 555 0100``,
``0086 10 1234 5678``); ``to_e164`` turns each into ``+14155550100`` or raises
:class:`~crm.errors.InvalidPhoneNumber` with the reason. A number without a country prefix is read
in the configured default region; the international call prefix of that region (``00``, ``011``)
is understood too.
"""

from __future__ import annotations

import contextlib
import re
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from phonenumbers import timezone as pn_timezone

from .errors import InvalidPhoneNumber

_INTERNATIONAL_PREFIXES = ("00", "011")


def _readings(text: str, region: str) -> list[phonenumbers.PhoneNumber]:
    """The ways ``text`` can be read: in ``region``, then after an international call prefix."""
    readings = []
    with contextlib.suppress(NumberParseException):
        readings.append(phonenumbers.parse(text, region.upper()))
    digits = re.sub(r"[\s().-]", "", text)
    for prefix in _INTERNATIONAL_PREFIXES:
        if digits.startswith(prefix) and digits[len(prefix):].isdigit():
            with contextlib.suppress(NumberParseException):
                readings.append(phonenumbers.parse("+" + digits[len(prefix):], None))
    return readings


def parse(raw: str, region: str = "US", *, valid_only: bool = False) -> phonenumbers.PhoneNumber:
    """The best reading of ``raw``: the first valid one, else (unless ``valid_only``) the first possible one.

    Searching takes possible numbers (an agent types what the customer says); storing a number
    (a new customer, a campaign's target) takes only a valid one.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("empty phone number")
    if len(text) > 40:
        raise InvalidPhoneNumber(f"phone number too long: {text[:40]!r}...")
    readings = _readings(text, region)
    for number in readings:
        if phonenumbers.is_valid_number(number):
            return number
    if not valid_only:
        for number in readings:
            if phonenumbers.is_possible_number(number):
                return number
    elif readings:
        raise InvalidPhoneNumber(f"not a valid phone number in {region.upper()}: {text!r}")
    raise InvalidPhoneNumber(f"not a phone number: {text!r}")


def to_e164(raw: str, region: str = "US", *, valid_only: bool = False) -> str:
    """Normalize ``raw`` to E.164, reading a national number in ``region``."""
    return phonenumbers.format_number(parse(raw, region, valid_only=valid_only), PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """An E.164 number in international format for people: ``+1 415-555-0100``."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def time_zone_of(e164: str) -> ZoneInfo | None:
    """The number's time zone when its prefix has exactly one (for local calling hours)."""
    try:
        return zone_of_number(phonenumbers.parse(e164, None))
    except NumberParseException:
        return None


def zone_of_number(number: phonenumbers.PhoneNumber) -> ZoneInfo | None:
    """:func:`time_zone_of` for a number already parsed (a bulk import parses each number once)."""
    zones = pn_timezone.time_zones_for_number(number)
    if len(zones) != 1 or zones[0] == "Etc/Unknown":
        return None
    return ZoneInfo(zones[0])


def takes_sms(e164: str) -> bool:
    """Whether the number may be a mobile one (a text message can reach it). Numbering plans that do not
    tell fixed lines from mobiles (the US and Canada) count as mobile."""
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    except NumberParseException:
        return False
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
