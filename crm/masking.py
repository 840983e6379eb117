"""Card numbers (PANs) found in any text and masked before it is stored, logged or published.

A card number is 13 to 19 digits, alone or in groups split by single spaces or dashes as people
type them (``4111 1111 1111 1111``), that pass the Luhn check; digits written after ``+`` are a phone
number (E.164). Masking keeps the last four digits and the separators: ``**** **** **** 1111``.
A card number keyed together with its security code, in one unbroken run (15, 16 or 19 digits that
start with 2 to 6 and pass the Luhn check, then 3 or 4 more: ``4111111111111111123``), is masked
with the code masked whole: ``************1111***``. Other longer unbroken runs of digits are no card
number.

Pure Python, no imports of ours: the IVR, the data layer, the CTI gateway and the bus may all use it.
:class:`CardMaskingFilter` masks log records (installed on the handlers ``ccenter`` sets up).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

#: Digits a card number has at least and at most.
MIN_DIGITS, MAX_DIGITS = 13, 19
#: Digits left visible at the end of a masked number.
KEEP = 4
MASK = "*"

# A run of digits, each after at most one space or dash; it starts after neither a digit nor "+".
_RUN = re.compile(r"(?<![\d+])\d(?:[ -]?\d)*")
_SEP = re.compile(r"[ -]")


def luhn_valid(digits: str) -> bool:
    """Whether the digit string passes the Luhn (mod 10) check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _mask_digits(group: str) -> str:
    return MASK * len(group)


def _mask_run(run: str) -> str:
    """The run with its card numbers masked: whole groups (as typed), the last four digits kept."""
    groups = _SEP.split(run)
    seps = _SEP.findall(run)
    found: list[tuple[int, int]] = []  # [i, j) group ranges that are card numbers
    i = 0
    while i < len(groups):
        best = None
        count = 0
        for j in range(i, len(groups)):
            count += len(groups[j])
            if count > MAX_DIGITS:
                break
            if count >= MIN_DIGITS and luhn_valid("".join(groups[i : j + 1])):
                best = j + 1
        if best is None:
            i += 1
            continue
        found.append((i, best))
        i = best
    if not found:
        if len(groups) == 1:
            return _mask_with_code(run)
        return run
    digits = [list(g) for g in groups]
    for i, j in found:
        positions = [(g, k) for g in range(i, j) for k in range(len(groups[g]))]
        for g, k in positions[: len(positions) - KEEP]:
            digits[g][k] = MASK
    out = ["".join(digits[0])]
    for sep, group in zip(seps, digits[1:], strict=True):
        out.append(sep + "".join(group))
    return "".join(out)


#: Card number lengths a security code typed right after is looked for (Amex 15, most cards 16,
#: UnionPay up to 19), and the codes' lengths (CVV2/CVC2 3, Amex CID 4).
_PAN_LENGTHS = (15, 16, 19)
_CODE_LENGTHS = (3, 4)


def _mask_with_code(run: str) -> str:
    """An unbroken run that is a card number with its security code typed right after it
    (``4111111111111111`` + ``123``): the card masked but its last four, the code masked whole."""
    for pan in _PAN_LENGTHS:
        code = len(run) - pan
        if code in _CODE_LENGTHS and run[0] in "23456" and luhn_valid(run[:pan]):
            return MASK * (pan - KEEP) + run[pan - KEEP : pan] + MASK * code
    return run


def card_numbers(text: str) -> list[str]:
    """The runs of ``text`` that hold a card number, as written."""
    return [m[0] for m in _RUN.finditer(text) if _mask_run(m[0]) != m[0]]


def has_card_number(text: str) -> bool:
    return bool(card_numbers(text))


def mask_text(text: str) -> str:
    """``text`` with every card number in it masked (the same object when there is none)."""
    if len(text) < MIN_DIGITS:
        return text
    masked = _RUN.sub(lambda m: _mask_run(m[0]), text)
    return text if masked == text else masked


def mask(value: Any) -> Any:
    """``value`` with card numbers masked in every string inside it (mappings, lists, tuples)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, tuple):
        return tuple(mask(v) for v in value)
    return value


class CardMaskingFilter(logging.Filter):
    """Masks card numbers in a record's message before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked is not message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True
