"""The number Customer Success calls an owner at: read, checked, kept, shown.

An owner types the number as their country writes it ("(617) 555-0101"),
or with its country code ("+44 20 7946 0958"). It is checked with the
`phonenumbers` library (Google's libphonenumber) and kept in E.164
("+16175550101"). Accounts keep no country of their own: the country is
the one of the account's time zone (the IANA database's zone.tab says
America/New_York is the US, Europe/London GB), and the US when the zone
names none (UTC). That country reads numbers written without a country
code, and shows a number of its own the way it writes them (NATIONAL);
any other number is shown with its country code (INTERNATIONAL).
"""
from functools import lru_cache
from importlib import resources

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from wizard.refusals import NotAPhoneNumber

DEFAULT_REGION = "US"
# Longer than any number written with spaces and an extension; more is not a number.
MAX_LENGTH = 40


@lru_cache(maxsize=1)
def _zone_countries():
    """{IANA zone: ISO country code}, from the zone database's zone.tab."""
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {row[2]: row[0] for row in rows if len(row) >= 3}


def region_of(timezone_name):
    """The country of an account in `timezone_name` ("US" when the zone names none)."""
    return _zone_countries().get(timezone_name, DEFAULT_REGION)


def example(region):
    """A number as `region` writes one, for the hint and the error: "(201) 555-0123"."""
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.FIXED_LINE)
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL) if number else "+1 201 555 0123"


def parse_number(text, timezone_name):
    """The number `text` as E.164, read as the account's country writes numbers;
    NotAPhoneNumber for nothing, or for anything no phone could call."""
    region = region_of(timezone_name)
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise NotAPhoneNumber(example(region), missing=True)
    if len(text) > MAX_LENGTH:
        raise NotAPhoneNumber(example(region))
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        raise NotAPhoneNumber(example(region)) from None
    if not phonenumbers.is_valid_number(number):
        raise NotAPhoneNumber(example(region))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_number(e164, timezone_name="UTC"):
    """A kept number as the account's country reads it: "(617) 555-0101" at
    home, "+44 20 7946 0958" abroad ("" for none)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    home = phonenumbers.region_code_for_number(number) == region_of(timezone_name)
    return phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL if home else PhoneNumberFormat.INTERNATIONAL)


def calls_you_at(e164, timezone_name="UTC"):
    """Who calls whom, at what number, as the owner reads it (in the booking's
    confirmation, its emails and its invitation); "" for a call kept without one."""
    number = phone_number(e164, timezone_name)
    return f"Customer Success will call you at {number}." if number else ""
