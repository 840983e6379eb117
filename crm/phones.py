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
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType
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


_E164 = re.compile(r"\+([1-9][0-9]{5,16})")
#: A national number as people type it: ASCII digits, spaces, dashes, dots and parentheses.
_NATIONAL = re.compile(r"[0-9 ().-]+")


def _e164_reading(text: str) -> phonenumbers.PhoneNumber | None:
    """``text`` when it is written in E.164 (``+`` and digits only) and ``phonenumbers.parse`` would read
    it as the country code and the digits after it, read without the parser's general steps; else None.

    The country code is the prefix of the digits that ``phonenumbers`` knows as one (they are prefix-free);
    the parser would read the rest otherwise only when it starts with 0 (an Italian leading zero) or
    with what that country's metadata calls a national prefix (it may strip it): those go to the parser.
    """
    match = _E164.fullmatch(text)
    if match is None:
        return None
    digits = match[1]
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    rest = digits[size:]
    if not rest or rest[0] == "0":
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, phonenumbers.region_code_for_country_code(country_code))
    prefix = metadata.national_prefix_for_parsing if metadata is not None else None
    if metadata is None or (prefix and re.match(prefix, rest)):
        return None
    return phonenumbers.PhoneNumber(country_code=country_code, national_number=int(rest))


def _national_reading(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """``text`` when it is a national number of ``region`` written with digits and separators only, and
    ``phonenumbers.parse(text, region)`` would read all its digits as the national number; else None.

    The parser reads the digits otherwise only when they start with 0, with the region's international
    call prefix or country code, or with what its metadata calls a national prefix: those go to the
    parser (as do letters, extensions and every other form).
    """
    if _NATIONAL.fullmatch(text) is None:
        return None
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) < 2 or digits[0] == "0":
        return None
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None or digits.startswith(str(metadata.country_code)):
        return None
    for prefix in (metadata.international_prefix, metadata.national_prefix_for_parsing):
        if prefix and re.match(prefix, digits):
            return None
    return phonenumbers.PhoneNumber(country_code=metadata.country_code, national_number=int(digits))


def parse_valid_typed(raw: str, region: str = "US") -> tuple[phonenumbers.PhoneNumber, int]:
    """``parse(raw, region, valid_only=True)`` and the number's type (a ``PhoneNumberType`` value), for a
    bulk check of many numbers.

    A number is valid when ``phonenumbers`` gives it a type (``is_valid_number`` is exactly
    ``number_type(n) != UNKNOWN``); taking the type once here, and the time zone from it
    (:func:`zone_of_typed`), spares the second and third look-up through the numbering plan that
    ``is_valid_number`` then ``time_zones_for_number`` would each make.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("empty phone number")
    if len(text) > 40:
        raise InvalidPhoneNumber(f"phone number too long: {text[:40]!r}...")
    # The forms most lists hold, read straight (when the parser would read them the same way); a
    # number phonenumbers does not find valid that way is read by the parser as any other.
    quick = _e164_reading(text) if text[0] == "+" else _national_reading(text, region.upper())
    if quick is not None:
        kind = phonenumbers.number_type(quick)
        if kind != PhoneNumberType.UNKNOWN:
            return quick, kind
    readings = _readings(text, region)
    for number in readings:
        kind = phonenumbers.number_type(number)
        if kind != PhoneNumberType.UNKNOWN:
            return number, kind
    if readings:
        raise InvalidPhoneNumber(f"not a valid phone number in {region.upper()}: {text!r}")
    raise InvalidPhoneNumber(f"not a phone number: {text!r}")


def zone_of_typed(number: phonenumbers.PhoneNumber, kind: int) -> ZoneInfo | None:
    """:func:`zone_of_number` for a valid number whose type :func:`parse_valid_typed` gave."""
    if phonenumbers.is_number_type_geographical(kind, number.country_code or 0):
        zones = pn_timezone.time_zones_for_geographical_number(number)
        if len(zones) != 1 or zones[0] == "Etc/Unknown":
            return None
        return ZoneInfo(zones[0])
    return zone_of_number(number)  # country-level zones (a mobile number of many plans): rare in a list


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
