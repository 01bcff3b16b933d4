"""A seeded weather "truth" for the Swiss stations and the forecast files made from it (docs/sources.md#weather-files).

Truth is hourly per site: temperature, humidity, precipitation, radiation, sunshine. Forecasts are the truth
plus an error that grows with the lead time, so a model that uses them learns something real. The outdoor
sensors of the apartments read the truth at Sion.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import numpy as np

HEADER = "Time,Value,Prediction,Site,Measurement,Unit"
SENTINEL = "-99999.0"
RUN_HOURS = tuple(range(0, 24, 3))
LEADS = tuple(range(46))
# code -> unit string exactly as in the contract; PRED_DURSUN_ctrl is the irrelevant code the cleaning drops.
CODES = {
    "PRED_DURSUN_ctrl": "min",
    "PRED_GLOB_ctrl": "Watt/m2",
    "PRED_RELHUM_2M_ctrl": "Percent",
    "PRED_TOT_PREC_ctrl": "Kg/m2",
    "PRED_T_2M_ctrl": "°C",
}
ACCUMULATED = ("PRED_GLOB_ctrl", "PRED_TOT_PREC_ctrl")  # -99999.0 at lead 00
# site -> temperature offset against Sion (°C), roughly by altitude and climate
SITES = {
    "Aadorf / Tänikon": -1.5, "Basel / Binningen": 0.2, "Bern / Zollikofen": -1.2, "Genève / Cointrin": 0.5,
    "Lugano": 1.8, "Montana": -5.5, "Sion": 0.0, "Visp": -0.3, "Zürich / Fluntern": -1.0,
}
LATITUDE, LONGITUDE = 46.23, 7.36


class WeatherTruth:
    """Hourly truth per site from `start` (UTC midnight) over `days` days."""

    def __init__(self, start: date, days: int, seed: int):
        self.start = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
        self.hours = days * 24
        rng = np.random.default_rng([seed, start.toordinal(), 7])
        hours = np.arange(self.hours)
        instants = [self.start + timedelta(hours=int(h)) for h in hours]
        doy = np.array([t.timetuple().tm_yday for t in instants])
        hour_of_day = np.array([t.hour for t in instants])
        day_index = hours // 24
        anomaly = np.zeros(days)
        cloud = np.zeros(days)
        for d in range(days):
            anomaly[d] = (0.7 * anomaly[d - 1] if d else 0.0) + rng.normal(0, 1.8)
            cloud[d] = float(np.clip((0.5 * cloud[d - 1] if d else 0.3) + rng.uniform(-0.1, 0.6), 0, 1))
        clouds = np.clip(cloud[day_index] + rng.normal(0, 0.08, self.hours), 0, 1)
        seasonal = 10.5 - 10.5 * np.cos(2 * np.pi * (doy - 20) / 365.25)
        diurnal = (5.5 - 3 * clouds) * np.cos(2 * np.pi * (hour_of_day - 14) / 24)
        self.temperature = seasonal + anomaly[day_index] + diurnal
        self.radiation = clear_sky_radiation(doy, hour_of_day) * (1 - 0.75 * clouds)
        self.sunshine = np.where(self.radiation > 120, 60 * (1 - clouds), 0.0)
        rain = (clouds > 0.75) & (rng.random(self.hours) < 0.6)
        self.precipitation = np.where(rain, rng.gamma(1.2, 0.9, self.hours), 0.0)
        daily_mean = seasonal + anomaly[day_index]
        self.humidity = np.clip(72 - 3.0 * (self.temperature - daily_mean) + 20 * clouds + 10 * rain, 18, 100)

    def index(self, instant: datetime) -> float:
        return (instant - self.start).total_seconds() / 3600

    def sion_temperature(self, instant: datetime) -> float:
        """Outdoor temperature at Sion at any instant (linear between hours)."""
        position = min(max(self.index(instant), 0), self.hours - 1.001)
        low = int(position)
        weight = position - low
        return float(self.temperature[low] * (1 - weight) + self.temperature[low + 1] * weight)

    def sion_radiation(self, instant: datetime) -> float:
        position = min(max(int(self.index(instant)), 0), self.hours - 1)
        return float(self.radiation[position])

    def series(self, code: str, site: str) -> np.ndarray:
        offset = SITES[site]
        return {
            "PRED_T_2M_ctrl": self.temperature + offset,
            "PRED_RELHUM_2M_ctrl": np.clip(self.humidity - 1.5 * offset, 5, 100),
            "PRED_TOT_PREC_ctrl": self.precipitation * (1 + 0.1 * abs(offset)),
            "PRED_GLOB_ctrl": self.radiation,
            "PRED_DURSUN_ctrl": self.sunshine,
        }[code]


def clear_sky_radiation(doy: np.ndarray, hour_utc: np.ndarray) -> np.ndarray:
    """Global radiation under a clear sky (W/m2) from the sun's elevation at Sion."""
    declination = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365)
    hour_angle = np.radians(15 * (hour_utc + 0.5 + LONGITUDE / 15 - 12))
    lat = math.radians(LATITUDE)
    sin_elevation = np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(hour_angle)
    return np.clip(1000 * sin_elevation, 0, None)


ERROR_SCALE = {"PRED_T_2M_ctrl": (0.4, 0.05), "PRED_RELHUM_2M_ctrl": (3.0, 0.25),
               "PRED_TOT_PREC_ctrl": (0.2, 0.02), "PRED_GLOB_ctrl": (25.0, 2.5), "PRED_DURSUN_ctrl": (4.0, 0.4)}
LIMITS = {"PRED_T_2M_ctrl": (-50, 60), "PRED_RELHUM_2M_ctrl": (0, 100), "PRED_TOT_PREC_ctrl": (0, 500),
          "PRED_GLOB_ctrl": (0, 1500), "PRED_DURSUN_ctrl": (0, 60)}


def forecast_csv(truth: WeatherTruth, prediction_date: date, seed: int) -> str:
    """The text of `Pred_<prediction_date>.csv`: 8 runs x leads 00..45 for every site and code."""
    rng = np.random.default_rng([seed, prediction_date.toordinal(), 11])
    day_start = datetime(prediction_date.year, prediction_date.month, prediction_date.day, tzinfo=timezone.utc)
    lines = [HEADER]
    runs = np.repeat(RUN_HOURS, len(LEADS))
    leads = np.tile(LEADS, len(RUN_HOURS))
    order = np.lexsort((runs, leads))  # by lead, then run: the target times of one lead step by 3 h
    runs, leads = runs[order], leads[order]
    offsets = runs + leads
    base = int(truth.index(day_start))
    times = [(day_start + timedelta(hours=int(h))).strftime("%Y-%m-%d %H:%M:%S+00:00") for h in range(70)]
    for site in SITES:
        for code, unit in CODES.items():
            series = truth.series(code, site)
            target = np.clip(base + offsets, 0, truth.hours - 1)
            fixed, growth = ERROR_SCALE[code]
            values = series[target] + rng.normal(0, 1, len(target)) * (fixed + growth * leads)
            values = np.clip(values, *LIMITS[code])
            text = [f"{v:.1f}" for v in values]
            for position in np.flatnonzero(rng.random(len(text)) < 0.002):
                text[position] = SENTINEL
            if code in ACCUMULATED:
                for position in np.flatnonzero(leads == 0):
                    text[position] = SENTINEL
            lines.extend(f"{times[o]},{v},{lead:02d},{site},{code},{unit}"
                         for o, v, lead in zip(offsets, text, leads))
    return "\n".join(lines) + "\n"
