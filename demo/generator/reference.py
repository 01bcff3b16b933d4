"""The reference database (docs/sources.md#reference-database): ten imported tables, `buildings` with its personal columns,
and the personal/app tables the platform must never read."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from demo.generator.apartments import APPLIANCES, Apartment


@dataclass(frozen=True)
class ReferenceTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (column, MariaDB type)
    rows: list[tuple]

    def create_statement(self) -> str:
        columns = ", ".join(f"`{name}` {kind}" for name, kind in self.columns)
        return f"CREATE TABLE `{self.name}` ({columns}) CHARACTER SET utf8mb4"

    def insert_statement(self) -> str:
        names = ", ".join(f"`{name}`" for name, _ in self.columns)
        return f"INSERT INTO `{self.name}` ({names}) VALUES ({', '.join(['%s'] * len(self.columns))})"


IMPORTED_TABLES = ("buildings", "buildingtype", "rooms", "sensors", "devices", "profilereference", "profile",
                   "parameters", "parameterstype", "dierrors")
PERSONAL_TABLES = ("users", "actions", "achievements", "badges", "events", "eventsgeneric", "eventsignore",
                   "categories", "userrelationships")
BUILDING_PII_COLUMNS = ("idUser", "firstName", "lastName", "latitude", "longitude", "address", "npa",
                        "phoneNumber")
STREETS = ("Rue du Rhône", "Avenue de la Gare", "Rue de Lausanne", "Chemin des Vignes", "Route de Bramois")
PARAMETER_TYPES = (("minTemperature", "C"), ("maxTemperature", "C"), ("minHumidity", "%"), ("maxHumidity", "%"),
                   ("maxCO2", "ppm"), ("maxNoise", "dB"), ("standbyPower", "W"), ("tariff", "CHF/kWh"),
                   ("heatingSetpoint", "C"))


def reference_tables(apartments: list[Apartment], first_day: date, seed: int) -> list[ReferenceTable]:
    """All tables, with power snapshots and error log entries dated from `first_day` on."""
    rng = random.Random(f"{seed}:reference")
    start = datetime(first_day.year, first_day.month, first_day.day)
    buildings, rooms, sensors, devices, profile, parameters, errors = [], [], [], [], [], [], []
    for building_id, apartment in enumerate(apartments, start=1):
        buildings.append((building_id, 100 + building_id, 2 if apartment.layout == "jimmy" else 1,
                          apartment.user, apartment.first_name, apartment.last_name,
                          round(46.23 + rng.uniform(-0.01, 0.01), 6), round(7.36 + rng.uniform(-0.01, 0.01), 6),
                          f"{rng.choice(STREETS)} {rng.randint(1, 80)}", "1950", "Sion", rng.randint(1965, 2018),
                          f"+41 27 {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
                          apartment.people, int(rng.random() < 0.5)))
        for room in apartment.indoor_rooms:
            room_id = len(rooms) + 1
            rooms.append((room_id, building_id, room, rng.randint(1, 4), rng.choice("NESW"),
                          round(rng.uniform(6, 32), 1)))
            for kind in _room_sensor_types(apartment, room):
                sensors.append((len(sensors) + 1, room_id, kind, f"192.168.{building_id}.{len(sensors) + 10}"))
            if room in apartment.plugs:
                devices.append((len(devices) + 1, room_id, f"{room} plug", "plug"))
        for appliance in (p for p in apartment.plugs if p in APPLIANCES):
            devices.append((len(devices) + 1, None, appliance, "appliance"))
        for index, (name, _unit) in enumerate(PARAMETER_TYPES, start=1):
            parameters.append((len(parameters) + 1, building_id, index, str(_parameter_value(name, rng))))
        for hour in range(0, 24 * 10, 1):
            if len(profile) < 257 * building_id:
                profile.append((len(profile) + 1, building_id, start + timedelta(hours=hour),
                                round(rng.uniform(80, 2500), 1)))
        for _ in range(rng.randint(3, 8)):
            moment = start + timedelta(minutes=rng.randint(0, 14 * 1440))
            errors.append((len(errors) + 1, building_id, rng.choice(
                ["Sensor offline: no data received", "Connection timeout while reading plug",
                 "Battery low on door sensor", "Fatal: gateway crash, restarted", "Value error in payload"]),
                moment, f"{moment:%d.%m.%Y %H%M}_{apartment.user}_received.json"))
    return [
        ReferenceTable("buildings", (("idBuilding", "INT PRIMARY KEY"), ("idUser", "INT"), ("idBuildingType", "INT"),
                                     ("houseName", "VARCHAR(100)"), ("firstName", "VARCHAR(100)"),
                                     ("lastName", "VARCHAR(100)"), ("latitude", "DOUBLE"), ("longitude", "DOUBLE"),
                                     ("address", "VARCHAR(200)"), ("npa", "VARCHAR(10)"), ("city", "VARCHAR(100)"),
                                     ("buildingYear", "INT"), ("phoneNumber", "VARCHAR(30)"), ("nbPeople", "INT"),
                                     ("isHeatingOn", "TINYINT")), buildings),
        ReferenceTable("buildingtype", (("idBuildingType", "INT PRIMARY KEY"), ("type", "VARCHAR(50)")),
                       [(1, "Maison"), (2, "Appartement")]),
        ReferenceTable("rooms", (("idRoom", "INT PRIMARY KEY"), ("idBuilding", "INT"), ("roomName", "VARCHAR(50)"),
                                 ("nbSensors", "INT"), ("orientation", "CHAR(1)"), ("surface", "DOUBLE")), rooms),
        ReferenceTable("sensors", (("idSensor", "INT PRIMARY KEY"), ("idRoom", "INT"), ("sensorType", "VARCHAR(30)"),
                                   ("ipAddress", "VARCHAR(40)")), sensors),
        ReferenceTable("devices", (("idDevice", "INT PRIMARY KEY"), ("idRoom", "INT"), ("deviceName", "VARCHAR(100)"),
                                   ("deviceType", "VARCHAR(50)")), devices),
        ReferenceTable("profilereference", (("idProfileReference", "INT PRIMARY KEY"), ("type", "VARCHAR(50)"),
                                            ("kwhPerYear", "DOUBLE")),
                       [(1, "Appartement 1 personne", 1600.0), (2, "Appartement 2 personnes", 2500.0),
                        (3, "Maison 2 personnes", 3500.0), (4, "Maison 4 personnes", 5000.0)]),
        ReferenceTable("profile", (("idProfile", "INT PRIMARY KEY"), ("idBuilding", "INT"),
                                   ("timestamp", "DATETIME"), ("power", "DOUBLE")), profile),
        ReferenceTable("parameters", (("idParameter", "INT PRIMARY KEY"), ("idBuilding", "INT"),
                                      ("idParameterType", "INT"), ("value", "VARCHAR(50)")), parameters),
        ReferenceTable("parameterstype", (("idParameterType", "INT PRIMARY KEY"), ("name", "VARCHAR(50)"),
                                          ("unit", "VARCHAR(20)")),
                       [(i, name, unit) for i, (name, unit) in enumerate(PARAMETER_TYPES, start=1)]),
        ReferenceTable("dierrors", (("idError", "INT PRIMARY KEY"), ("idBuilding", "INT"),
                                    ("errorMessage", "TEXT"), ("creationDate", "DATETIME"), ("file", "VARCHAR(200)")),
                       errors),
        *_personal_tables(apartments, rng),
    ]


def _room_sensor_types(apartment: Apartment, room: str) -> list[str]:
    kinds = list(apartment.doors_windows.get(room, ()))
    kinds += ["motion"] * (room in apartment.motions) + ["meteo"] * (room in apartment.meteo_modules)
    kinds += ["humidity"] * (room in apartment.humidities) + ["plug"] * (room in apartment.plugs)
    return kinds


def _parameter_value(name: str, rng: random.Random) -> float:
    return {"minTemperature": 19, "maxTemperature": 26, "minHumidity": 30, "maxHumidity": 65, "maxCO2": 1200,
            "maxNoise": 60, "standbyPower": 5, "tariff": 0.2951, "heatingSetpoint": rng.choice([20, 21, 22])}[name]


def _personal_tables(apartments: list[Apartment], rng: random.Random) -> list[ReferenceTable]:
    users = [(100 + i, a.first_name, a.last_name, f"{a.first_name.lower()}.{a.last_name.lower()}@example.ch",
              "%064x" % rng.getrandbits(256), f"+41 79 {rng.randint(100, 999)} {rng.randint(10, 99)} 00")
             for i, a in enumerate(apartments, start=1)]
    simple = (("id", "INT PRIMARY KEY"), ("idUser", "INT"), ("label", "VARCHAR(200)"))
    tables = [ReferenceTable("users", (("idUser", "INT PRIMARY KEY"), ("firstName", "VARCHAR(100)"),
                                       ("lastName", "VARCHAR(100)"), ("email", "VARCHAR(200)"),
                                       ("password", "VARCHAR(128)"), ("phone", "VARCHAR(30)")), users)]
    for name in PERSONAL_TABLES[1:]:
        tables.append(ReferenceTable(name, simple, [(i, user[0], f"{name} entry of {user[1]} {user[2]}")
                                                    for i, user in enumerate(users, start=1)]))
    return tables
