"""The number Customer Success calls: read as the account's country writes
numbers, kept in E.164, shown at home without the country code; and the
time zone said in words."""
import pytest

from wizard.domain import formatting, phones
from wizard.refusals import NotAPhoneNumber


@pytest.mark.parametrize("zone, region", [
    ("America/New_York", "US"), ("America/Los_Angeles", "US"), ("America/Toronto", "CA"),
    ("Europe/London", "GB"), ("Australia/Sydney", "AU"),
    ("UTC", "US"), ("Mars/Olympus", "US"), ("", "US"),  # no country: the US
])
def test_the_country_is_the_time_zones(zone, region):
    assert phones.region_of(zone) == region


@pytest.mark.parametrize("typed, zone, e164", [
    ("(617) 555-0101", "America/New_York", "+16175550101"),
    ("617.555.0101", "America/New_York", "+16175550101"),
    ("+1 617 555 0101", "Europe/London", "+16175550101"),
    ("020 7946 0958", "Europe/London", "+442079460958"),
    ("+44 20 7946 0958", "America/New_York", "+442079460958"),
])
def test_a_number_is_read_as_its_country_writes_it_and_kept_in_e164(typed, zone, e164):
    assert phones.parse_number(typed, zone) == e164


@pytest.mark.parametrize("typed", [None, "", "   ", "12", "555-010-0123", "020 7946 0958",
                                   "call me", "+", "1" * 41, ["(617) 555-0101"]])
def test_what_no_phone_could_call_is_refused(typed):
    with pytest.raises(NotAPhoneNumber) as refused:
        phones.parse_number(typed, "America/New_York")
    assert refused.value.status == 422
    assert str(refused.value) in ("Enter the number we will call.",
                                  "Enter a phone number we can call, like (201) 555-0123.")


def test_a_number_is_shown_at_home_without_its_country_code():
    assert phones.phone_number("+16175550101", "America/New_York") == "(617) 555-0101"
    assert phones.phone_number("+16175550101", "Europe/London") == "+1 617-555-0101"
    assert phones.phone_number("+442079460958", "America/New_York") == "+44 20 7946 0958"
    assert phones.phone_number("+442079460958", "Europe/London") == "020 7946 0958"
    assert phones.phone_number(None, "America/New_York") == ""
    assert phones.calls_you_at(None) == ""
    assert phones.calls_you_at("+16175550101", "America/Chicago") == (
        "Customer Success will call you at (617) 555-0101.")


def test_the_time_zone_in_words():
    assert formatting.time_zone_label("America/New_York") == "Eastern Time (America/New_York)"
    assert formatting.time_zone_label("America/Argentina/Buenos_Aires") == (
        "Buenos Aires time (America/Argentina/Buenos_Aires)")
    assert formatting.time_zone_label("UTC") == "UTC"
    assert [formatting.clock_hour(h) for h in (0, 8, 12, 19)] == ["midnight", "8 AM", "noon", "7 PM"]
