"""How cards say a span of time: as a clinician says it (clinical reference 0.9), never "5022 days ago"."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

DAYS_UP_TO = 13  # then weeks
WEEKS_UP_TO = 12  # then months
MONTHS_UP_TO = 23  # then years
DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25


@lru_cache(maxsize=4096)  # a few hundred distinct spans a day: each card names when drugs were last ordered
def ago(days: int) -> str:
    """ "today", "1 day ago", "9 days ago", "2 weeks ago", "3 months ago", "13 years ago"."""
    if days <= 0:
        return "today"
    if days <= DAYS_UP_TO:
        return _count(days, "day")
    if days // 7 <= WEEKS_UP_TO:
        return _count(days // 7, "week")
    months = round(days / DAYS_PER_MONTH)
    if months <= MONTHS_UP_TO:
        return _count(months, "month")
    return _count(max(2, int(days / DAYS_PER_YEAR)), "year")


@lru_cache(maxsize=4096)  # cards name the same few dates again and again; writing one costs ten look-ups
def day(when: date) -> str:
    """A date as cards write it, "2026-11-27": what f"{when}" writes."""
    return str(when)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'} ago"
