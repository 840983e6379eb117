import pytest

from crm import phones
from crm.errors import InvalidPhoneNumber
from crm.secrets import hash_secret, verify_secret


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 415-555-0100", "US", "+14155550100"),
        ("(415) 555 0100", "US", "+14155550100"),
        ("415.555.0100", "US", "+14155550100"),
        ("0086 10 1234 5678", "US", "+861012345678"),
        ("0086 10 1234 5678", "CN", "+861012345678"),
        ("010 1234 5678", "CN", "+861012345678"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+852 9123 4567", "US", "+85291234567"),
    ],
)
def test_every_written_form_normalizes_to_e164(raw: str, region: str, expected: str) -> None:
    assert phones.to_e164(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "   ", "abc", "12", "+1 415 555", "9" * 41])
def test_unparseable_numbers_raise_a_clear_error(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        phones.to_e164(raw)
    assert "phone number" in str(info.value)


def test_time_zone_of_a_number_with_a_single_zone() -> None:
    assert str(phones.time_zone_of("+14155550100")) == "America/Los_Angeles"
    assert str(phones.time_zone_of("+861012345678")) == "Asia/Shanghai"
    assert phones.display("+14155550100") == "+1 415-555-0100"


def test_secret_hash_verifies_only_the_right_secret() -> None:
    stored = hash_secret("1234", n=2**10)
    assert stored.startswith("scrypt$1024$")
    assert verify_secret("1234", stored)
    assert not verify_secret("1235", stored)
    assert not verify_secret("1234", None)
    assert not verify_secret("1234", "garbage")
    assert hash_secret("1234", n=2**10) != stored  # salted
