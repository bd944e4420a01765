"""What a date means here: a day in China Standard Time. Dates given to the service (``as_of``,
a version's vintage) are CST days; the histories keep UTC instants as ISO text."""

from __future__ import annotations

import datetime as dt

CST = dt.timezone(dt.timedelta(hours=8), "CST")  # China Standard Time: what a date means here


def end_of_day(date: dt.date) -> str:
    """A date's last instant in China Standard Time, as the UTC text the history uses."""
    t = dt.datetime.combine(date, dt.time(23, 59, 59, 999000), CST).astimezone(dt.UTC)
    return t.isoformat(timespec="milliseconds")


def start_of_day(date: dt.date) -> str:
    return dt.datetime.combine(date, dt.time(0, 0), CST).astimezone(dt.UTC).isoformat(timespec="milliseconds")
