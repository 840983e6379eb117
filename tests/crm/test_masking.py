"""Card numbers: found wherever they are written, masked to their last four digits; nothing else is touched."""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import Engine, select

from crm import db, repository
from crm.masking import CardMaskingFilter, card_numbers, luhn_valid, mask, mask_text
from crm.models import Channel, Contact


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("4111111111111111", "************1111"),
        ("card 4111 1111 1111 1111 exp 12/27", "card **** **** **** 1111 exp 12/27"),
        ("5555-5555-5555-4444", "****-****-****-4444"),
        ("amex 378282246310005.", "amex ***********0005."),
        ("6011000990139424 cvv 737", "************9424 cvv 737"),
        ("two: 4012888888881881 and 3530111333300000", "two: ************1881 and ************0000"),
        ("卡号4111111111111111谢谢", "卡号************1111谢谢"),
        # keyed together with the security code: the code is masked whole
        ("4111111111111111123", "************1111***"),
        ("3782822463100051234", "***********0005****"),
        ("6212345678901232123", "************1232***"),
    ],
)
def test_card_numbers_are_masked_to_the_last_four(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert card_numbers(text) and not card_numbers(masked)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # not Luhn-valid
        "+8613800138000",  # E.164, Luhn-valid by chance: a phone number
        "+86 138 0013 8000",
        "call 4155550100 or 0044 20 7946 0958",
        "account 10000042, order 7731, 12 of 24",
        "412345678901",  # 12 digits
        "41111111111111111111111",  # 23 digits in one run: an id, not a card
        "1111111111111111123",  # 16 Luhn-valid digits and three more, but no card starts with 1
        "41111111111111121234",  # 16 digits that are no card number, then four
        "2026-11-30 12:00:00",
    ],
)
def test_what_is_no_card_number_is_left_alone(text: str) -> None:
    assert mask_text(text) is text and card_numbers(text) == []


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


def test_nested_values_are_masked() -> None:
    value = {"notes": "card 4111111111111111", "list": ["5555555555554444", 3, None], "n": 4111111111111111}
    assert mask(value) == {"notes": "card ************1111", "list": ["************4444", 3, None],
                           "n": 4111111111111111}


def test_free_text_columns_are_masked_before_they_are_stored(engine: Engine) -> None:
    with db.transaction(db.session_factory(engine)) as s:
        contact_id = repository.record_contact(s, channel=Channel.VOICE_IN, summary="paid with 4111111111111111",
                                               ivr_data={"fields": {"ref": {"value": "4111-1111-1111-1111"}}})
        repository.close_contact(s, contact_id, disposition="resolved", notes="Card 5555 5555 5555 4444 ok")
    with db.session_factory(engine)() as s:
        contact = s.scalar(select(Contact))
        assert contact is not None
        assert contact.summary == "paid with ************1111"
        assert contact.notes == "Card **** **** **** 4444 ok"
        assert contact.ivr_data == {"fields": {"ref": {"value": "****-****-****-1111"}}}


def test_the_log_filter_masks_messages_arguments_and_tracebacks() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(CardMaskingFilter())
    log = logging.getLogger("tests.masking")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("got %s from %s", "4111111111111111", "caller")
        try:
            raise ValueError("bad input 5555555555554444")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    text = out.getvalue()
    assert "4111111111111111" not in text and "5555555555554444" not in text
    assert "got ************1111 from caller" in text and "ValueError: bad input ************4444" in text
