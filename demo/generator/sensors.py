"""Minute-by-minute sensor payloads of one apartment (docs/sources.md#payload), driven by its routine and the weather."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from demo.generator.apartments import Apartment
from demo.generator.occupancy import DayPlan, plan_day
from demo.generator.weather import WeatherTruth
from sensors_io.filenames import sensor_filename

# Appliance programmes: (minutes, watts) phases of one cycle.
PROGRAMMES = {
    "Dishwasher": [(20, 1850.0), (45, 95.0), (15, 1900.0), (30, 12.0)],
    "WashingMachine": [(15, 2100.0), (50, 280.0), (12, 520.0), (8, 160.0)],
    "Dryer": [(40, 2250.0), (25, 820.0)],
}
VOLTAGE = 233.5


class ApartmentSimulator:
    """Carries the apartment's slowly varying state (counters, batteries, CO2, temperatures) across minutes."""

    def __init__(self, apartment: Apartment, weather: WeatherTruth, seed: int, timezone_name: str, start: date):
        self.apartment = apartment
        self.weather = weather
        self.seed = seed
        self.zone = ZoneInfo(timezone_name)
        self.rng = random.Random(f"{seed}:{apartment.user}:{start.isoformat()}")
        rng = self.rng
        self.token = "%032x" % random.Random(f"token:{apartment.user}").getrandbits(128)
        self.totals = {plug: rng.uniform(5_000, 400_000) for plug in apartment.plugs}
        self.batteries = {key: rng.uniform(70, 100) for key in self._battery_keys()}
        self.co2 = {room: 600.0 for room in apartment.meteo_modules if room != "Outdoor"}
        self.room_temperature = {room: rng.uniform(20.5, 22.5) for room in apartment.indoor_rooms}
        self.bath_humidity = 55.0
        self.contacts = {(room, index): False for room, types in apartment.doors_windows.items()
                         for index in range(len(types))}
        self.running: dict[str, list[float]] = {}
        self.recent_power = {plug: [0.0, 0.0, 0.0] for plug in apartment.plugs}
        self.pressure = 1015.0 + rng.uniform(-6, 6)
        self.counter_reset: tuple[date, int, str] | None = None

    def schedule_counter_reset(self, day: date, minute: int, plug: str) -> None:
        """Make a plug's energy counter restart from zero at that local minute (a device reset)."""
        self.counter_reset = (day, minute, plug)

    def _battery_keys(self) -> list[str]:
        a = self.apartment
        keys = [f"door:{room}:{i}" for room, types in a.doors_windows.items() for i in range(len(types))]
        keys += [f"meteo:{room}" for room in a.meteo_modules if room != "Livingroom"]
        keys += [f"humidity:{room}" for room in a.humidities]
        return keys

    def day(self, day: date) -> list[tuple[str, datetime, dict]]:
        """(filename, UTC instant, payload) for every minute of the local day, missing minutes left out."""
        plan = plan_day(self.apartment, day, self.seed)
        self._schedule_appliances(day, plan)
        skipped = self._missing_minutes(day)
        files = []
        seen = set()
        local_midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        start = local_midnight.astimezone(timezone.utc)
        end = (local_midnight + timedelta(days=1)).astimezone(timezone.utc)
        instant = start
        while instant < end:
            local = instant.astimezone(self.zone).replace(tzinfo=None)
            minute = local.hour * 60 + local.minute
            name = sensor_filename(local, self.apartment.user)
            if self.counter_reset and self.counter_reset[:2] == (day, minute):
                self.totals[self.counter_reset[2]] = 0.0
            payload = self._minute(local, instant, minute, plan)  # state advances even for lost files
            if minute not in skipped and name not in seen:
                seen.add(name)
                files.append((name, instant, payload))
            instant += timedelta(minutes=1)
        for key in self.batteries:
            self.batteries[key] = max(self.batteries[key] - self.rng.uniform(0.05, 0.35), 1.0)
        return files

    def _missing_minutes(self, day: date) -> set[int]:
        """Short gaps most days, a longer one (more than 10 minutes) on some days."""
        rng = random.Random(f"{self.seed}:gaps:{self.apartment.user}:{day.isoformat()}")
        skipped = set()
        for _ in range(rng.randint(0, 4)):
            start = rng.randrange(1440)
            skipped.update(range(start, start + rng.randint(1, 3)))
        if rng.random() < 0.25:
            start = rng.randrange(1380)
            skipped.update(range(start, start + rng.randint(11, 45)))
        return skipped

    def _schedule_appliances(self, day: date, plan: DayPlan) -> None:
        rng = random.Random(f"{self.seed}:appliances:{self.apartment.user}:{day.isoformat()}")
        home = [m for m in range(1440) if plan.location[m] and not plan.asleep[m]]
        self.starts: dict[int, str] = {}
        if not home:
            return
        if "Dishwasher" in self.apartment.plugs and rng.random() < 0.65:
            self.starts[min(max(m for m in home) - 5, 1300)] = "Dishwasher"
        if "WashingMachine" in self.apartment.plugs and (day.weekday() in (2, 5) or rng.random() < 0.1):
            start = home[len(home) // 3]
            self.starts[start] = "WashingMachine"
            if "Dryer" in self.apartment.plugs and rng.random() < 0.7:
                self.starts[start + 90] = "Dryer"

    def _plug_power(self, plug: str, minute: int, plan: DayPlan, dark: bool) -> float:
        rng = self.rng
        if plug in PROGRAMMES:
            if self.starts.get(minute) == plug:
                self.running[plug] = [w for length, w in PROGRAMMES[plug] for _ in range(length)]
            programme = self.running.get(plug)
            if programme:
                return max(programme.pop(0) + rng.gauss(0, 8), 0.0)
            return 0.6 if plug == "Dryer" else 0.0
        here = plan.location[minute] == plug and not plan.asleep[minute]
        if plug == "Office":
            return rng.gauss(95, 12) if here else rng.gauss(1.8, 0.1)
        if plug == "Livingroom":
            return rng.gauss(72, 6) if here and (dark or minute > 1080) else rng.gauss(1.9, 0.1)
        if plug == "Bhroom":
            return rng.gauss(1200, 40) if minute in plan.shower_minutes and minute % 10 < 4 else 0.0
        return 0.0

    def _minute(self, local: datetime, instant: datetime, minute: int, plan: DayPlan) -> dict:
        a, rng = self.apartment, self.rng
        epoch = int(instant.timestamp()) + rng.randint(0, 1)
        outdoor = self.weather.sion_temperature(instant)
        daylight = self.weather.sion_radiation(instant)
        dark = daylight < 40
        where, asleep = plan.location[minute], plan.asleep[minute]
        home = where is not None

        for room in self.room_temperature:
            heating = 21.8 if home and not asleep else 19.5
            target = heating + 0.08 * (outdoor - 12) + (1.5 if plan.cooking[minute] and room in ("Kitchen", "Livingroom") else 0)
            self.room_temperature[room] += 0.02 * (target - self.room_temperature[room]) + rng.gauss(0, 0.02)
        plugs = {}
        for plug in a.plugs:
            power = round(self._plug_power(plug, minute, plan, dark), 2)
            self.totals[plug] += power / 60
            recent = self.recent_power[plug]
            recent.insert(0, power)
            recent.pop()
            room_temp = self.room_temperature.get(plug, 22.0)
            plugs[plug] = {
                "timePlug": epoch, "power": power, "overpower": 0, "is_valid": True,
                "counter1": round(recent[0], 2), "counter2": round(recent[1], 2), "counter3": round(recent[2], 2),
                "total": int(self.totals[plug]), "temperature": round(room_temp + 4 + power * 0.004, 1),
                "overtemperature": False, "switch": "on" if power > 0.3 or plug not in PROGRAMMES else "off",
            }

        doors_windows = {}
        for room, types in a.doors_windows.items():
            sensors = []
            for index, kind in enumerate(types):
                key = (room, index)
                if kind == "window":
                    is_open = minute in plan.airing_minutes and room in ("Bdroom", "Livingroom", "Kitchen", "Office")
                else:
                    if where == room or rng.random() < 0.01:
                        self.contacts[key] = where == room or not self.contacts[key]
                    is_open = self.contacts[key] and not (asleep and room == "Bdroom")
                sensors.append({"type": kind, "switch": "on" if is_open else "off",
                                "battery": int(self.batteries[f"door:{room}:{index}"]), "defense": 0})
            doors_windows[room] = sensors

        motions = {}
        for room in a.motions:
            present = where == room and not asleep
            moving = (present and rng.random() < 0.75) or rng.random() < 0.002
            lamp = 160 if present and dark else 0
            light = int(max(daylight * 0.35 + lamp + rng.gauss(0, 3), 0))
            motions[room] = {"motion": moving, "light": light,
                             "temperature": round(self.room_temperature.get(room, 21.0) + rng.gauss(0, 0.1), 1)}

        airing = minute in plan.airing_minutes
        meteo = {}
        self.pressure += rng.gauss(0, 0.02) + 0.001 * (1015 - self.pressure)
        for room in a.meteo_modules:
            if room == "Outdoor":
                meteo[room] = {"Temperature": round(outdoor + rng.gauss(0, 0.2), 1),
                               "Humidity": int(min(max(75 - 2 * (outdoor - 10) + rng.gauss(0, 2), 15), 100)),
                               "battery_percent": int(self.batteries["meteo:Outdoor"])}
                continue
            people = a.people if where == room and not asleep else (1 if asleep and room == "Bdroom" else 0)
            self.co2[room] += 9 * people - (0.06 if airing else 0.012) * (self.co2[room] - 420) + rng.gauss(0, 2)
            reading = {"Temperature": round(self.room_temperature.get(room, 21.0), 1),
                       "CO2": int(max(self.co2[room], 380)),
                       "Humidity": int(min(max(48 + 0.01 * (self.co2[room] - 600) + rng.gauss(0, 1), 25), 80))}
            if room == "Livingroom":
                noise = 33 + (14 if where == room and not asleep else 0) + (6 if plan.cooking[minute] else 0)
                reading.update({"Noise": int(noise + rng.gauss(0, 2)), "Pressure": round(self.pressure, 1),
                                "AbsolutePressure": round(self.pressure - 61.4, 1)})
            else:
                reading["battery_percent"] = int(self.batteries[f"meteo:{room}"])
            meteo[room] = reading

        humidities = {}
        if minute in plan.shower_minutes:
            self.bath_humidity += 2.5
        self.bath_humidity += 0.03 * (55 - self.bath_humidity)
        for room in a.humidities:
            level = self.bath_humidity if room == "Bhroom" else 57 + rng.gauss(0, 0.5)
            humidities[room] = {"temperature": round(self.room_temperature.get(room, 21.0), 1),
                                "humidity": round(min(level, 99.0), 1),
                                "devicePower": int(self.batteries[f"humidity:{room}"])}

        return {"user": a.user, "api_token": self.token, "datetime": local.strftime("%d.%m.%Y %H:%M"),
                "plugs": plugs, "doorsWindows": doors_windows, "motions": motions, "meteos": {"meteo": meteo},
                "humidities": humidities, "consumptions": {"House": self._house(epoch, plugs, plan, minute, dark)}}

    def _house(self, epoch: int, plugs: dict, plan: DayPlan, minute: int, dark: bool) -> dict:
        rng = self.rng
        home_awake = plan.location[minute] is not None and not plan.asleep[minute]
        fridge = 90.0 if (minute // 20) % 3 == 0 else 4.0
        phases = [110.0 + fridge, 25.0, 0.0]
        for index, reading in enumerate(plugs.values()):
            phases[index % 3] += reading["power"]
        if plan.cooking[minute]:
            phases[0] += 1500.0
        if home_awake and dark:
            phases[1] += 45.0
        phases = [round(max(p + rng.gauss(0, 1.5), 0.0), 2) if p else 0.0 for p in phases]
        factors = [0.0 if power == 0 else round(min(0.55 + power / 3000, 0.99), 2) for power in phases]
        voltages = [round(VOLTAGE + rng.gauss(0, 0.6), 1) for _ in phases]
        reading = {"timeConsumption": epoch, "total_power": round(sum(phases), 2)}
        reading.update({f"power{n}": power for n, power in enumerate(phases, 1)})
        reading.update({f"pf{n}": pf for n, pf in enumerate(factors, 1)})
        reading.update({f"current{n}": round(p / (v * pf), 2) if pf else 0.0
                        for n, (p, v, pf) in enumerate(zip(phases, voltages, factors), 1)})
        reading.update({f"voltage{n}": v for n, v in enumerate(voltages, 1)})
        reading.update({"is_valid1": True, "is_valid2": True, "is_valid3": True, "switch": "on"})
        return reading
