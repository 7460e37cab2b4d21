"""Money, dates, durations and sizes as an owner reads them: for pages and
emails alike."""
import unicodedata
from functools import lru_cache
from itertools import dropwhile
from zoneinfo import ZoneInfo, available_timezones


def money(cents):
    """1234 -> "$12.34"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


# Files some systems keep among the zones that name no place: "localtime"
# is the server's own zone (Debian lists it), "Factory" a placeholder.
NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)  # reading the zone database's index takes some 20 ms
def _known_time_zones():
    return frozenset(available_timezones()) - NOT_PLACES


def is_known_time_zone(name):
    """Is `name` a zone of the IANA database ("America/New_York")? Not a
    folder of it ("America"), nor one of its other files ("localtime")."""
    return isinstance(name, str) and name in _known_time_zones()


# What people call the zones most accounts are in; any other zone is
# called by its place ("Buenos Aires time").
ZONE_NAMES = {
    "America/New_York": "Eastern Time", "America/Detroit": "Eastern Time",
    "America/Chicago": "Central Time", "America/Denver": "Mountain Time",
    "America/Phoenix": "Mountain Time (Arizona)", "America/Los_Angeles": "Pacific Time",
    "America/Anchorage": "Alaska Time", "Pacific/Honolulu": "Hawaii Time",
    "America/Toronto": "Eastern Time", "America/Vancouver": "Pacific Time",
    "America/Halifax": "Atlantic Time", "Europe/London": "UK time", "UTC": "UTC",
}


# The regions of the zone database a person lives in, in the order a list offers them.
ZONE_REGIONS = ("America", "Europe", "Asia", "Australia", "Pacific", "Africa", "Atlantic",
                "Indian", "Antarctica")


def time_zones_by_region():
    """[(region, [(zone, its place), ...]), ...]: every zone of a place, by
    region, for a list to choose from ("America": "New York", "Indiana/Knox"...),
    and UTC on its own at the end."""
    grouped = {region: [] for region in ZONE_REGIONS}
    for name in sorted(_known_time_zones()):
        region, _, place = name.partition("/")
        if region in grouped and place:
            grouped[region].append((name, place.replace("_", " ").replace("/", ": ")))
    return [(region, zones) for region, zones in grouped.items()] + [("Other", [("UTC", "UTC")])]


def clock_time(minute):
    """Minutes since midnight as a clock says it: 570 -> "9:30 AM", 1440 -> "midnight"."""
    if minute % 1440 == 0:
        return "midnight"
    hour, minutes = divmod(minute, 60)
    return f"{hour % 12 or 12}:{minutes:02d} {'AM' if hour < 12 else 'PM'}"


def time_zone_label(timezone_name):
    """A time zone in words, with its IANA name: "Eastern Time (America/New_York)"."""
    name = ZONE_NAMES.get(timezone_name)
    if name is None:
        name = timezone_name.rsplit("/", 1)[-1].replace("_", " ") + " time"
    return name if name == timezone_name else f"{name} ({timezone_name})"


def spoken_day(day, with_year=True):
    """A calendar day as people say it: "Tuesday, December 15, 2026" (or "Tuesday, December 15")."""
    said = f"{day:%A, %B} {day.day}"
    return f"{said}, {day.year}" if with_year else said


@lru_cache(maxsize=4096)  # a page shows the same few dates, each several times
def local_date(moment, timezone_name="UTC"):
    """A UTC datetime as the account's calendar date: "Tuesday, December 15, 2026"."""
    if moment is None:
        return ""
    return spoken_day(moment.astimezone(ZoneInfo(timezone_name)))


def duration(span):
    """A timedelta as people say it: "3 days 4 hours", "12 minutes", "under a minute"."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return "under a minute"
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts[:2])


def local_time(moment, timezone_name="UTC"):
    """A UTC datetime as a wall-clock time there: "9:30 AM"."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone_name))
    return f"{local.hour % 12 or 12}:{local:%M %p}"


def clock_hour(hour):
    """An hour of the day as people say it: 8 -> "8 AM", 19 -> "7 PM", 0 -> "midnight"."""
    if hour % 24 == 0:
        return "midnight"
    if hour == 12:
        return "noon"
    return f"{hour % 12 or 12} {'AM' if hour < 12 else 'PM'}"


def local_datetime(moment, timezone_name="UTC"):
    """A UTC datetime as a date and time there: "Monday, November 30, 2026 at 9:30 AM EST"."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone_name))
    return f"{local_date(moment, timezone_name)} at {local_time(moment, timezone_name)} {local:%Z}"


def iso_date(moment, timezone_name="UTC"):
    """For <time datetime="...">."""
    return "" if moment is None else moment.astimezone(ZoneInfo(timezone_name)).date().isoformat()


def filesize(n):
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024


def count_of(n, noun):
    """How many of something: "1 call log", "12,345 call logs"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# What makes a spreadsheet read a cell as a formula when it starts it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """A CSV cell that no spreadsheet runs as a formula: one that would start
    with a formula's character, once disguises are undone, gets a leading
    apostrophe. Disguises: characters a spreadsheet reads as their plain
    form (the fullwidth "＝", NFKC's equivalents), and a lead of spaces or
    invisible ones (a byte order mark, a zero-width space) it skips."""
    text = str(value)
    plain = "".join(dropwhile(_skipped_at_start, unicodedata.normalize("NFKC", text)))
    return "'" + text if plain.startswith(FORMULA_STARTS) else text


def _skipped_at_start(character):
    """Invisible (format characters) or a space, but not the tab and carriage
    return that are formula starts themselves."""
    return unicodedata.category(character) == "Cf" or (
        character.isspace() and character not in "\t\r")
