"""Apartment inventories (contract §1.4) and the people living there.

The two reference apartments keep their contract inventories (50 and 61 silver rows per file). Further
apartments reuse one of the two layouts under a new user name, so any number of apartments can be generated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Rows the house meter contributes per file under the flattening contract (§1.8).
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
}

REFERENCE_USERS = (("JimmyLoup", "jimmy"), ("JeremieVianin", "jeremie"))
EXTRA_USERS = ("AnnaMeier", "LucaRossi", "SofiaKeller", "NoahFavre", "EmmaBonvin", "LeoZufferey",
               "MiaGillioz", "EliasPerrin", "LinaMichellod", "JulesCarron")


def split_user(user: str) -> tuple[str, str]:
    """`JimmyLoup` → (`Jimmy`, `Loup`)."""
    parts = re.findall(r"[A-Z][a-z]+", user)
    return parts[0], "".join(parts[1:])


def apartments(count: int) -> list[Apartment]:
    """The two reference apartments first, then extra households alternating the two layouts."""
    if count < 1:
        raise ValueError("at least one apartment is needed")
    users = [*REFERENCE_USERS]
    for index, user in enumerate(EXTRA_USERS * (1 + count // len(EXTRA_USERS))):
        suffix = "" if index < len(EXTRA_USERS) else str(index // len(EXTRA_USERS) + 1)
        users.append((user + suffix, ("jimmy", "jeremie")[index % 2]))
    return [Apartment(user=user, layout=layout, **LAYOUTS[layout]) for user, layout in users[:count]]
