"""The generated forecast files follow the contract (docs/sources.md#weather-files)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from demo.sftp_server import EmbeddedSFTP
from sensors_io.filenames import FilenameError, parse_weather_filename

pytestmark = pytest.mark.unit

HEADER = ["Time", "Value", "Prediction", "Site", "Measurement", "Unit"]
UNITS = {"PRED_T_2M_ctrl": "°C", "PRED_RELHUM_2M_ctrl": "Percent", "PRED_TOT_PREC_ctrl": "Kg/m2",
         "PRED_GLOB_ctrl": "Watt/m2"}


def weather_folder(settings) -> Path:
    return EmbeddedSFTP(settings).folder


def rows(path: Path, encoding: str = "utf-8") -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding=encoding))))


def test_regular_file_has_header_runs_leads_sites_codes_and_sentinels(settings, generated):
    path = weather_folder(settings) / "Pred_2023-10-28.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(HEADER)
    table = rows(path)
    issue = parse_weather_filename(path.name)
    sites = {r["Site"] for r in table}
    assert {"Sion", "Visp", "Aadorf / Tänikon"} <= sites
    codes = {r["Measurement"]: r["Unit"] for r in table}
    assert {k: codes[k] for k in UNITS} == UNITS
    assert set(codes) - set(UNITS), "an irrelevant code must be present"
    per_group = Counter((r["Site"], r["Measurement"]) for r in table)
    assert set(per_group.values()) == {8 * 46}
    assert {r["Prediction"] for r in table} == {f"{lead:02d}" for lead in range(46)}
    start = datetime(issue.year, issue.month, issue.day)
    for r in table:
        target = datetime.strptime(r["Time"], "%Y-%m-%d %H:%M:%S+00:00")
        assert (target - start - timedelta(hours=int(r["Prediction"]))).total_seconds() / 3600 in range(0, 24, 3)
        if r["Prediction"] == "00" and r["Measurement"] in ("PRED_GLOB_ctrl", "PRED_TOT_PREC_ctrl"):
            assert r["Value"] == "-99999.0"
    assert max(datetime.strptime(r["Time"][:19], "%Y-%m-%d %H:%M:%S") for r in table) == start + timedelta(hours=21 + 45)


def test_forecast_tracks_the_outdoor_sensor(settings, generated):
    """Lead-01 Sion temperature forecasts are close to what the outdoor sensors measured."""
    table = rows(weather_folder(settings) / "Pred_2023-10-28.csv")
    forecasts = [float(r["Value"]) for r in table if r["Site"] == "Sion" and r["Measurement"] == "PRED_T_2M_ctrl"
                 and r["Prediction"] == "01" and r["Value"] != "-99999.0"]
    assert 0 < min(forecasts) < max(forecasts) < 30 and max(forecasts) - min(forecasts) > 3


def test_malformed_weather_cases_really_are_malformed(settings, generated):
    folder = weather_folder(settings)
    found = {c["case"]: folder / c["file"] for c in generated["cases"] if c["source"] == "sftp"}
    assert set(found) == {"bad_time_rows", "latin1", "year_2022", "empty_file", "bad_name", "missing_column"}
    bad_times = [r for r in rows(found["bad_time_rows"]) if not r["Time"].startswith("20") or "-32 " in r["Time"]
                 or "-02-30" in r["Time"]]
    assert len(bad_times) == 5
    with pytest.raises(UnicodeDecodeError):
        found["latin1"].read_text(encoding="utf-8")
    assert "Aadorf / Tänikon" in {r["Site"] for r in rows(found["latin1"], "latin-1")}
    assert parse_weather_filename(found["year_2022"].name).year == 2022
    assert found["empty_file"].stat().st_size == 0
    with pytest.raises(FilenameError):
        parse_weather_filename(found["bad_name"].name)
    assert "Unit" not in found["missing_column"].read_text().splitlines()[0].split(",")
