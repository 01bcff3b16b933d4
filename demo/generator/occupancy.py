"""Daily routines of each household, minute by minute (local wall-clock time).

Weekdays: wake, morning bathroom and breakfast, work away or in the Office on home-office days, dinner,
an evening in the living room, sleep. Weekends: later mornings and often an outing. Occasionally a day away.
These routines drive motion, light, CO2, noise and plug power, so an occupancy model has something to learn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from demo.generator.apartments import Apartment

MINUTES = 1440


@dataclass
class DayPlan:
    """Per-minute room of the household (None = nobody home), sleep and cooking flags."""

    location: list[str | None]
    asleep: list[bool]
    cooking: list[bool]
    shower_minutes: set[int]
    airing_minutes: set[int]


def _room(apartment: Apartment, *preferred: str) -> str:
    for room in preferred:
        if room in apartment.indoor_rooms:
            return room
    return apartment.indoor_rooms[0]


def plan_day(apartment: Apartment, day: date, seed: int) -> DayPlan:
    """The household's day, reproducible from (seed, apartment, date)."""
    rng = random.Random(f"{seed}:{apartment.user}:{day.isoformat()}")
    weekend = day.weekday() >= 5
    home_office = day.weekday() in apartment.works_from_home
    location: list[str | None] = [None] * MINUTES
    asleep = [False] * MINUTES
    cooking = [False] * MINUTES
    bedroom = _room(apartment, "Bdroom")
    living = _room(apartment, "Livingroom")
    kitchen = _room(apartment, "Kitchen", "Livingroom")
    bathroom = _room(apartment, "Bhroom")
    office = _room(apartment, "Office", "Livingroom")

    if rng.random() < 0.04:  # a day away: nobody home at all
        return DayPlan(location, asleep, cooking, set(), set())

    wake = (480 + rng.randint(0, 90)) if weekend else (390 + rng.randint(0, 60))
    bedtime = min(1380 + rng.randint(-45, 50), MINUTES - 1)

    def fill(start: int, end: int, room: str | None) -> None:
        for minute in range(max(start, 0), min(end, MINUTES)):
            location[minute] = room

    fill(0, wake, bedroom)
    fill(bedtime, MINUTES, bedroom)
    for minute in [*range(0, wake), *range(bedtime, MINUTES)]:
        asleep[minute] = True
    shower = rng.randint(12, 25)
    fill(wake, wake + shower, bathroom)
    fill(wake + shower, wake + shower + 25, kitchen)
    for minute in range(wake + shower, wake + shower + 10):
        cooking[minute] = True
    cursor = wake + shower + 25
    airing = set(range(cursor, cursor + rng.randint(5, 15))) if rng.random() < 0.6 else set()

    if weekend:
        fill(cursor, 1080, None)
        _wander(rng, apartment, fill, cursor, 780 + rng.randint(0, 60))
        if rng.random() < 0.4:  # no outing: the afternoon at home
            _wander(rng, apartment, fill, 780, 1080)
    elif home_office:
        fill(cursor, 720, office)
        fill(720, 765, kitchen)
        fill(765, 1050 + rng.randint(0, 40), office)
        _wander(rng, apartment, fill, 1050, 1110)
    else:
        back = 1020 + rng.randint(0, 90)
        fill(cursor + rng.randint(0, 15), back, None)
        _wander(rng, apartment, fill, back, 1110)
    dinner = 1110 + rng.randint(0, 30)
    fill(dinner, dinner + 45, kitchen)
    for minute in range(dinner, dinner + 30):
        cooking[minute] = True
    fill(dinner + 45, bedtime, living)
    for _ in range(rng.randint(1, 3)):
        visit = rng.randint(dinner + 50, max(dinner + 51, bedtime - 10))
        fill(visit, visit + rng.randint(3, 8), bathroom)
    return DayPlan(location, asleep, cooking, set(range(wake, wake + shower)), airing)


def _wander(rng: random.Random, apartment: Apartment, fill, start: int, end: int) -> None:
    """Move between rooms with dwell times of 10–45 minutes."""
    minute = start
    rooms = apartment.indoor_rooms
    while minute < end:
        dwell = rng.randint(10, 45)
        fill(minute, min(minute + dwell, end), rng.choice(rooms))
        minute += dwell
