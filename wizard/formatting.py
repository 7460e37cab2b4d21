"""Template filters and helpers: money and dates as an owner reads them, the
accessibility attributes of a form field, and templates' url_for."""
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import has_request_context, request


def money(cents):
    """1234 -> "$12.34"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


@lru_cache(maxsize=4096)  # a page shows the same few dates, each several times
def local_date(moment, timezone_name="UTC"):
    """A UTC datetime as the account's calendar date: "Tuesday, December 15, 2026"."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone_name))
    return f"{local:%A, %B} {local.day}, {local.year}"


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


def aria_attrs(field, hint_id=""):
    """The attributes that tie a field to its error and hint, for screen readers.

    The one place that builds them: the macros in _macros.html render them on
    inputs (as keyword arguments) and on fieldsets (with `xmlattr`).
    """
    described_by = ([f"{field.id}-error"] if field.errors else []) + ([hint_id] if hint_id else [])
    attrs = {}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return attrs


def remembered_url_for(app):
    """Templates' url_for, remembering the URLs it has built.

    Every page builds the same few URLs (the stylesheet, htmx, the menu, the
    steps of the wizard), and werkzeug builds each anew from the URL map,
    which costs a page a noticeable part of its time. A URL depends only on
    its endpoint, its values and where the app is mounted (the script root),
    and the map does not change once the app serves; so each is built once,
    and at most MAX_REMEMBERED_URLS are kept per app. Calls with building
    options (_external, _anchor, ...) or a relative endpoint always build.
    """
    built = {}

    def url_for(endpoint, **values):
        if (endpoint.startswith(".") or any(name.startswith("_") for name in values)
                or not has_request_context()):
            return app.url_for(endpoint, **values)
        key = (request.script_root, endpoint, *sorted(values.items()))
        try:
            return built[key]
        except KeyError:
            pass
        except TypeError:  # a value that cannot be a key (a list, say)
            return app.url_for(endpoint, **values)
        if len(built) >= MAX_REMEMBERED_URLS:
            built.clear()
        url = built[key] = app.url_for(endpoint, **values)
        return url

    return url_for


MAX_REMEMBERED_URLS = 10_000


def init_app(app):
    app.jinja_env.globals["url_for"] = remembered_url_for(app)
    app.add_template_filter(money)
    app.add_template_filter(local_date)
    app.add_template_filter(iso_date)
    app.add_template_filter(duration)
    app.add_template_filter(local_time)
    app.add_template_filter(local_datetime)
    app.add_template_filter(filesize)
    app.add_template_filter(count_of)
    app.add_template_global(aria_attrs)
