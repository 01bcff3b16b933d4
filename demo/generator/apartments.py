"""Apartment inventories (docs/sources.md#payload) and the people living there.

The two reference apartments keep their contract inventories (50 and 61 silver rows per file). Further
apartments take, in turn, the two reference layouts and two of their own (a studio: 36 rows per file; a family
flat: 72), under new user names, so any number of apartments can be generated. Every layout uses the room and
appliance keys the contract knows (docs/sources.md#payload).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Rows the house meter contributes per file under the flattening contract (docs/sources.md#flattening).
CONSUMPTION_FIELDS = 10  # total_power, power1..3, current1..3, voltage1..3


@dataclass(frozen=True)
class Apartment:
    """One apartment: its SMB user name, layout and the household's habits."""

    user: str
    layout: str
    plugs: tuple[str, ...]
    doors_windows: dict[str, tuple[str, ...]]
    motions: tuple[str, ...]
    meteo_modules: tuple[str, ...]
    humidities: tuple[str, ...]
    works_from_home: tuple[int, ...] = field(default=())  # weekdays (0=Monday) spent in the Office
    people: int = 2

    @property
    def first_name(self) -> str:
        return split_user(self.user)[0]

    @property
    def last_name(self) -> str:
        return split_user(self.user)[1]

    @property
    def rows_per_file(self) -> int:
        """Silver rows one complete file of this apartment flattens to."""
        doors = sum(len(types) for types in self.doors_windows.values())
        # meteo: base station 6 fields, indoor module 4, outdoor module 3
        meteo = sum(6 if room == "Livingroom" else 3 if room == "Outdoor" else 4 for room in self.meteo_modules)
        return (3 * len(self.plugs) + 2 * doors + 3 * len(self.motions) + meteo + 3 * len(self.humidities)
                + CONSUMPTION_FIELDS)

    @property
    def indoor_rooms(self) -> tuple[str, ...]:
        """Rooms people can be in (every room key that is not an appliance, the house meter or outdoors)."""
        keys = {*self.doors_windows, *self.motions, *self.meteo_modules, *self.humidities, *self.plugs}
        return tuple(sorted(keys - {"Outdoor", "Outside", "House", *APPLIANCES}))


APPLIANCES = ("Dishwasher", "WashingMachine", "Dryer")

LAYOUTS = {
    "jimmy": dict(
        plugs=("Office", "Livingroom"),
        doors_windows={"Office": ("window", "door"), "Bhroom": ("door", "window"), "Bdroom": ("window", "door")},
        motions=("Livingroom", "Office"),
        meteo_modules=("Livingroom", "Office", "Outdoor"),
        humidities=("Bhroom",),
        works_from_home=(1, 3),
        people=1,
    ),
    "jeremie": dict(
        plugs=("Dishwasher", "WashingMachine", "Dryer", "Bhroom"),
        doors_windows={"Kitchen": ("window",), "Laundry": ("window", "door"), "Bdroom": ("window",),
                       "Livingroom": ("window", "door"), "Office": ("door",)},
        motions=("Kitchen", "Office"),
        meteo_modules=("Livingroom", "Office", "Outdoor"),
        humidities=("Bhroom", "Laundry"),
        works_from_home=(4,),
        people=2,
    ),
    "studio": dict(
        plugs=("Livingroom",),
        doors_windows={"Livingroom": ("window", "door"), "Bdroom": ("window",), "Bhroom": ("door",)},
        motions=("Livingroom",),
        meteo_modules=("Livingroom", "Outdoor"),
        humidities=("Bhroom",),
        works_from_home=(0, 1, 2, 3, 4),
        people=1,
    ),
    "family": dict(
        plugs=("Dishwasher", "WashingMachine", "Office", "Livingroom"),
        doors_windows={"Kitchen": ("window", "door"), "Bdroom": ("window", "door"), "Bhroom": ("window",),
                       "Livingroom": ("window", "door"), "Office": ("window",), "Laundry": ("door",)},
        motions=("Kitchen", "Livingroom", "Office"),
        meteo_modules=("Livingroom", "Bdroom", "Office", "Outdoor"),
        humidities=("Bhroom", "Laundry"),
        works_from_home=(0, 2),
        people=4,
    ),
}
EXTRA_LAYOUTS = ("jimmy", "jeremie", "studio", "family")  # taken in turn by the apartments after the two references

REFERENCE_USERS = (("JimmyLoup", "jimmy"), ("JeremieVianin", "jeremie"))
EXTRA_USERS = ("AnnaMeier", "LucaRossi", "SofiaKeller", "NoahFavre", "EmmaBonvin", "LeoZufferey",
               "MiaGillioz", "EliasPerrin", "LinaMichellod", "JulesCarron")


def split_user(user: str) -> tuple[str, str]:
    """`JimmyLoup` → (`Jimmy`, `Loup`)."""
    parts = re.findall(r"[A-Z][a-z]+", user)
    return parts[0], "".join(parts[1:])


def apartments(count: int) -> list[Apartment]:
    """The two reference apartments first, then extra households taking the layouts in turn."""
    if count < 1:
        raise ValueError("at least one apartment is needed")
    users = [*REFERENCE_USERS]
    for index, user in enumerate(EXTRA_USERS * (1 + count // len(EXTRA_USERS))):
        suffix = "" if index < len(EXTRA_USERS) else str(index // len(EXTRA_USERS) + 1)
        users.append((user + suffix, EXTRA_LAYOUTS[index % len(EXTRA_LAYOUTS)]))
    return [Apartment(user=user, layout=layout, **LAYOUTS[layout]) for user, layout in users[:count]]
