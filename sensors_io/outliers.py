"""Plausibility bounds per (sensor type, field); a reading outside them, or NaN, is flagged, never dropped.

Unlike the reference (bounds keyed by field name only), every numeric field of every
sensor type is bounded: plug, motion and humidity temperatures, humidity-sensor humidity, phase powers,
total power, currents, voltages and the station-level pressure included.
"""

from __future__ import annotations

import math

SENSOR_BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
    ("plug", "power"): (0, 10_000), ("plug", "total"): (0, 1e9), ("plug", "temperature"): (-20, 90),
    ("door", "open"): (0, 1), ("door", "battery"): (0, 100),
    ("window", "open"): (0, 1), ("window", "battery"): (0, 100),
    ("motion", "motion"): (0, 1), ("motion", "light"): (0, 100_000), ("motion", "temperature"): (-20, 60),
    ("meteo", "temperature_c"): (-20, 60), ("meteo", "co2_ppm"): (300, 5000), ("meteo", "humidity_pct"): (0, 100),
    ("meteo", "noise_db"): (0, 140), ("meteo", "pressure_hpa"): (870, 1085),
    ("meteo", "abs_pressure_hpa"): (700, 1085), ("meteo", "battery"): (0, 100),
    ("humidity", "temperature"): (-20, 60), ("humidity", "humidity"): (0, 100), ("humidity", "battery"): (0, 100),
    ("consumption", "total_power"): (0, 30_000),
    **{("consumption", f"power{i}"): (0, 15_000) for i in (1, 2, 3)},
    **{("consumption", f"current{i}"): (0, 63) for i in (1, 2, 3)},
    **{("consumption", f"voltage{i}"): (180, 260) for i in (1, 2, 3)},
}

# Per measurement code (docs/sources.md#weather-cleaning).
WEATHER_BOUNDS = {"PRED_T_2M_ctrl": (-50, 60), "PRED_RELHUM_2M_ctrl": (0, 100), "PRED_TOT_PREC_ctrl": (0, 500),
                  "PRED_GLOB_ctrl": (0, 1500)}


def is_outlier(sensor_type: str, field: str, value: float) -> bool:
    """True when the value is NaN/infinite or outside its bounds. A door/window type other than door or
    window (unknown sensor) has no bounds and is judged only on being finite."""
    if math.isnan(value) or math.isinf(value):
        return True
    bounds = SENSOR_BOUNDS.get((sensor_type, field))
    return bounds is not None and not bounds[0] <= value <= bounds[1]
