"""Calendar invitations for calls with Customer Success (iCalendar, RFC 5545/5546).

One invitation per email: METHOD:REQUEST to book or move the call, and
METHOD:CANCEL to take it out of the calendar. The VEVENT keeps the booking's
UID for the call's whole life and carries its SEQUENCE, so calendars apply
each change once and in order. Times are UTC.
"""
from icalendar import Calendar, Event, vCalAddress, vText

REQUEST, CANCEL = "REQUEST", "CANCEL"
PRODID = "-//smrtPhone//Customer Success calls//EN"


def _address(user, **params):
    address = vCalAddress(f"mailto:{user.email}")
    address.params["cn"] = vText(user.name)
    for name, value in params.items():
        address.params[name.replace("_", "-")] = vText(value)
    return address


def invitation(call, owner, staff, method, now, summary, description="", location=""):
    """The .ics text of `call` as it now stands, organised by
    `staff`, with `owner` attending. `location`: where the call happens,
    which for a phone call is the number Customer Success calls."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = Event()
    event.add("uid", call.uid)
    event.add("sequence", call.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", call.start)
    event.add("dtend", call.end)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("organizer", _address(staff))
    event.add("attendee", _address(owner, role="REQ-PARTICIPANT", partstat="ACCEPTED",
                                   rsvp="FALSE"))
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


def method_of(ics):
    """The METHOD of an invitation's text (what the email's text/calendar part says)."""
    value = Calendar.from_ical(ics).get("method")
    return str(value) if value is not None else None
