"""The ML features, backtests and gates on generated rooms with known routines (no service), and the
prediction writes against the real PostgreSQL."""

from __future__ import annotations

import base64
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import numpy as np
import polars as pl
import pytest

from domotic_assets.governance.live_skill import live_skill_asset
from domotic_assets.ml import backtest as bt
from domotic_assets.ml import store
from domotic_assets.ml.assets import current_rooms, prediction_rows, with_backtest_versions
from domotic_assets.ml.data import load_grid, read
from domotic_assets.ml.features import CATEGORICAL, FEATURES, LAG_DAYS, WEATHER, Grid, build_features
from domotic_assets.ml.metrics import power_metrics, winkler
from domotic_assets.ml.pictures import power_week_picture, reliability_picture
from domotic_assets.ml.use_cases import OCCUPANCY, POWER, Power, room_coverage_ok
from domotic_assets.timing import WEATHER_FETCHED, issue_before_midnight
from resources.alerts import AlertWebhookResource
from resources.postgres import PostgresResource

TZ = "Europe/Zurich"
ISSUED = issue_before_midnight()  # 15 h 30 min: the day before at 08:30, the production forecast tick
FIRST = date(2024, 2, 1)
DAYS = 42
LAST = FIRST + timedelta(days=DAYS - 1)
FEATURE_COLUMNS = [name for name in FEATURES if name not in CATEGORICAL]


def routine_grid(seed: int = 3, late_room_start: int = 10) -> Grid:
    """Room 1 is occupied 18:00–22:00 local every day, room 2 on weekdays 08:00–12:00 (from day
    `late_room_start` on); 10 % of windows flip at random; power follows occupancy; some windows missing."""
    rng = np.random.default_rng(seed)
    starts = pl.datetime_range(datetime(2024, 1, 31, 23, tzinfo=timezone.utc),
                               datetime(2024, 3, 13, 22, 45, tzinfo=timezone.utc), "15m", eager=True)
    frames = []
    for room, first_day in ((1, 0), (2, late_room_start)):
        local = starts.dt.convert_time_zone(TZ)
        hour, weekday = local.dt.hour().to_numpy(), local.dt.weekday().to_numpy()
        routine = (hour >= 18) & (hour < 22) if room == 1 else (hour >= 8) & (hour < 12) & (weekday <= 5)
        occupied = np.where(rng.random(len(starts)) < 0.1, ~routine, routine).astype(float)
        frame = pl.DataFrame({"room_key": room, "apartment_key": 100, "window_start": starts, "occupied": occupied,
                              "power_w": occupied * 300 + rng.gamma(2, 10, len(starts)),
                              "co2_ppm": 400 + occupied * 300})
        frame = frame.filter(local.dt.date() >= FIRST + timedelta(days=first_day))
        frames.append(frame.filter(pl.Series(rng.random(frame.height) > 0.02)))  # some windows missing
    windows = pl.concat(frames).with_columns(target=pl.col("occupied"))
    issue_days = pl.date_range(FIRST - timedelta(days=2), LAST + timedelta(days=1), eager=True)
    hours = pl.datetime_range(datetime(2024, 1, 30, tzinfo=timezone.utc),
                              datetime(2024, 3, 16, tzinfo=timezone.utc), "1h", eager=True)
    weather = (pl.DataFrame({"prediction_date": issue_days}).join(pl.DataFrame({"hour_utc": hours}), how="cross")
               .filter((pl.col("hour_utc").dt.date() >= pl.col("prediction_date"))
                       & (pl.col("hour_utc").dt.date() <= pl.col("prediction_date") + timedelta(days=2)))
               .with_columns(site_key=pl.lit(9, pl.Int64), temperature_c=pl.col("prediction_date").dt.day().cast(pl.Float64),
                             humidity_pct=pl.lit(60.0), precipitation_mm=pl.lit(0.0), radiation_wm2=pl.lit(100.0)))
    return Grid(windows=windows, weather=weather,
                sites=pl.DataFrame({"apartment_key": [100], "site_key": [9]}),
                holidays=pl.DataFrame({"date": [date(2024, 3, 1)], "is_holiday": [True]}))


@pytest.fixture(scope="module")
def grid() -> Grid:
    return routine_grid()


@pytest.fixture(scope="module")
def features(grid) -> pl.DataFrame:
    """As production computes them: each day's forecast issued the day before at the forecast tick (08:30), with
    the forecast file fetched that morning (07:30)."""
    return build_features(grid, LAST + timedelta(days=1), TZ, ISSUED, WEATHER_FETCHED)


def before(grid: Grid, cutoff: datetime, fetched: timedelta) -> Grid:
    """Only what was known at the cutoff: windows that ended by then, forecast files fetched by then (`fetched`
    after the local midnight of their prediction date)."""
    wall_clock = cutoff.astimezone(ZoneInfo(TZ)).replace(tzinfo=None)
    return Grid(windows=grid.windows.filter(pl.col("window_start") + timedelta(minutes=15) <= cutoff),
                weather=grid.weather.filter(pl.col("prediction_date").cast(pl.Datetime("us")) + fetched <= wall_clock),
                sites=grid.sites, holidays=grid.holidays)


@pytest.mark.unit
def test_relative_mae_is_the_mae_over_the_naive_s_on_the_same_rows():
    actual, naive = np.array([10.0, 20.0, 30.0, 40.0]), np.array([20.0, 20.0, 20.0, 20.0])
    predicted = np.array([12.0, 18.0, 33.0, 37.0])  # MAE 2.5; the naive's 10
    metrics = power_metrics(actual, predicted, naive)
    assert metrics["mae"] == 2.5 and metrics["relative_mae"] == 0.25 and "mase" not in metrics
    assert power_metrics(actual, naive, naive)["relative_mae"] == 1.0


@pytest.mark.unit
def test_mase_scales_each_error_by_its_room_s_in_sample_seasonal_naive_mae(power_backtest):
    """MASE = mean(|error| / scale), the scale being the MAE of the same-slot-a-week-before forecast on the
    training rows of the error's room (Hyndman and Koehler); the backtest carries each row's scale."""
    actual, predicted = np.array([10.0, 20.0, 30.0, 40.0]), np.array([12.0, 18.0, 33.0, 37.0])
    scale = np.array([2.0, 2.0, 6.0, 6.0])  # two rooms
    assert power_metrics(actual, predicted, actual, scale=scale)["mase"] == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)
    rooms = power_backtest.group_by("room_key", "local_date").agg(pl.col("naive_scale").n_unique())
    assert (rooms["naive_scale"] == 1).all()  # one scale per room and cutoff block
    lightgbm = bt.evaluate(power_backtest, POWER).filter(pl.col("candidate") == "lightgbm").to_dicts()[0]
    assert 0 < lightgbm["mase"] < 1  # better than the in-sample seasonal naive on known routines


@pytest.mark.unit
@pytest.mark.parametrize("day", [FIRST + timedelta(days=20), FIRST + timedelta(days=37)])
@pytest.mark.parametrize("issued, fetched", [(timedelta(0), timedelta(days=1)), (timedelta(hours=6), timedelta(days=1)),
                                             (ISSUED, WEATHER_FETCHED), (timedelta(hours=18), WEATHER_FETCHED)])
def test_features_recomputed_from_data_before_the_cutoff_are_the_same(grid, day, issued, fetched):
    """The replay: the features production computes at the issue instant, on gold truncated at that instant,
    equal the backtest's for that day (issued at midnight, 6 h before, at the production tick after that day's
    forecast file, and at 06:00, before it)."""
    features = build_features(grid, LAST + timedelta(days=1), TZ, issued, fetched)
    rows = features.filter(pl.col("local_date") == day).sort("room_key", "window_start")
    cutoff = rows["cutoff"][0]
    assert cutoff == datetime.combine(day, datetime.min.time(), ZoneInfo(TZ)) - issued
    again = build_features(before(grid, cutoff, fetched), day, TZ, issued, fetched).filter(
        pl.col("local_date") == day).sort("room_key", "window_start")
    assert rows.height > 150
    assert rows.select(FEATURE_COLUMNS).equals(again.select(FEATURE_COLUMNS))
    assert again["target"].is_null().all()


@pytest.mark.unit
def test_shuffling_the_future_changes_no_feature(grid, features):
    day = FIRST + timedelta(days=30)
    cutoff = features.filter(pl.col("local_date") == day)["cutoff"][0]
    future = pl.col("window_start") >= cutoff
    rng = np.random.default_rng(0)
    shuffled = grid.windows.with_columns(
        *(pl.when(future).then(pl.Series(rng.permutation(grid.windows[name].to_numpy()))).otherwise(pl.col(name))
          .alias(name) for name in ("target", "occupied", "power_w", "co2_ppm")))
    changed = build_features(Grid(shuffled, grid.weather, grid.sites, grid.holidays), LAST + timedelta(days=1), TZ,
                             ISSUED, WEATHER_FETCHED)
    pick = pl.col("local_date") == day
    assert features.filter(pick).select(FEATURE_COLUMNS).equals(changed.filter(pick).select(FEATURE_COLUMNS))


@pytest.mark.unit
def test_no_weather_issued_on_or_after_the_target_day(features):
    rows = features.filter(pl.col("weather_lead_hours").is_not_null()).with_columns(
        issued=(pl.col("window_start").dt.truncate("1h") - pl.duration(minutes=pl.col("weather_lead_hours") * 60))
        .dt.convert_time_zone(TZ).dt.date())
    assert rows.height > 1000
    assert (rows["issued"] < rows["local_date"]).all()
    assert rows["weather_lead_hours"].min() > 0


@pytest.mark.unit
def test_lags_never_cross_rooms(grid, features):
    room2 = features.filter(pl.col("room_key") == 2).sort("window_start")
    first_day = room2["local_date"].min()
    assert room2.filter(pl.col("local_date") == first_day)["lag_1d"].is_null().all()
    own = room2.select("window_start", "target").with_columns(pl.col("window_start") + timedelta(days=1))
    joined = room2.join(own.rename({"target": "own_24h_before"}), on="window_start", how="left").filter(
        pl.col("lead_hours") < 23)  # the window 24 h before ended before the cutoff
    assert joined["lag_1d"].equals(joined["own_24h_before"], check_names=False, null_equal=True)


@pytest.mark.unit
def test_the_next_day_has_features_but_no_target(features):
    tomorrow = features.filter(pl.col("local_date") == LAST + timedelta(days=1))
    assert tomorrow.height == 2 * 96 and tomorrow["target"].is_null().all()
    # issued at 08:30 the day before: the same slot yesterday is known up to 08:30 only (34 of 96 windows), the
    # day before yesterday entirely
    assert 0.3 < tomorrow["lag_1d"].is_not_null().mean() < 34 / 96 + 0.01
    assert tomorrow["lag_2d"].is_not_null().mean() > 0.9
    # the forecast file fetched that morning at 07:30 is used: its first hour of tomorrow is 24 h after its date
    assert tomorrow["weather_lead_hours"].min() == 24


def clock_change_grid(first: date, last: date) -> Grid:
    """One room whose target is the local slot of day (0…95) of each window, every window present."""
    starts = pl.datetime_range(datetime.combine(first, datetime.min.time(), ZoneInfo(TZ)),
                               datetime.combine(last, datetime.max.time(), ZoneInfo(TZ)), "15m", eager=True,
                               time_zone="UTC")
    local = starts.dt.convert_time_zone(TZ)
    slot = (local.dt.hour() * 4 + local.dt.minute() // 15).cast(pl.Float64)
    windows = pl.DataFrame({"room_key": 1, "apartment_key": 100, "window_start": starts, "target": slot,
                            "occupied": 1.0, "power_w": slot, "co2_ppm": 400.0})
    empty = pl.DataFrame(schema={"site_key": pl.Int64, "hour_utc": pl.Datetime("us", "UTC"),
                                 "prediction_date": pl.Date, **{name: pl.Float64 for name in WEATHER}})
    return Grid(windows=windows, weather=empty, sites=pl.DataFrame({"apartment_key": [100], "site_key": [9]}),
                holidays=pl.DataFrame(schema={"date": pl.Date, "is_holiday": pl.Boolean}))


@pytest.mark.unit
@pytest.mark.parametrize("first, last", [(date(2023, 3, 10), date(2023, 4, 9)),     # spring: 02:00 is skipped
                                         (date(2023, 10, 14), date(2023, 11, 12))])  # autumn: 02:00 twice
def test_lags_are_the_same_local_slot_across_both_clock_changes(first, last):
    """A lag is the same local slot of day 1, 2, 7 or 14 days before, during and after the week of a clock
    change (a lag taken 24 × d hours before in UTC would be an hour off for days); a slot the spring change
    skipped has no value, and none is invented."""
    frame = build_features(clock_change_grid(first, last), last, TZ).with_columns(
        slot=(pl.col("window_start").dt.convert_time_zone(TZ).dt.hour() * 4
              + pl.col("window_start").dt.convert_time_zone(TZ).dt.minute() // 15).cast(pl.Float64))
    skipped = date(2023, 3, 26)  # the only local slots without a window: 02:00–02:45 of the spring change
    for days in LAG_DAYS:
        lagged = frame.filter(pl.col("local_date") >= first + timedelta(days=days))
        known = lagged.filter(pl.col(f"lag_{days}d").is_not_null())
        assert known.height > 0.99 * lagged.height - 4, days
        assert (known[f"lag_{days}d"] == known["slot"]).all(), days
        unknown = lagged.filter(pl.col(f"lag_{days}d").is_null())
        assert set(unknown["local_date"].to_list()) <= {skipped + timedelta(days=days)}, days
        assert set(unknown["slot"].to_list()) <= {8.0, 9.0, 10.0, 11.0}, days


@pytest.mark.unit
def test_the_smoothed_slot_of_week_rate_is_never_certain(features):
    """Four weeks of 0 (or 1) in a slot still give a probability between 0 and 1 when the room's 28-day rate is."""
    known = features.filter(pl.col("slot_of_week_smoothed").is_not_null())
    assert known.height > 0
    inside = known.filter((pl.col("mean_28d") > 0) & (pl.col("mean_28d") < 1))["slot_of_week_smoothed"]
    assert inside.min() > 0 and inside.max() < 1
    assert (known["slot_of_week_rate"].is_in([0.0, 1.0])).mean() > 0.5  # the raw rate mostly is


@pytest.fixture(scope="module")
def occupancy_backtest(features) -> pl.DataFrame:
    return bt.run_backtest(features, OCCUPANCY, days=14)


@pytest.mark.unit
def test_on_known_routines_the_selected_model_beats_the_baseline_and_passes_its_gates(occupancy_backtest):
    assessment = bt.assess(occupancy_backtest, OCCUPANCY)
    assert assessment.selected not in OCCUPANCY.baselines()
    gates = OCCUPANCY.gates(assessment.pooled, assessment.selected)
    assert all(gate["passed"] for gate in gates.values()), gates
    assert occupancy_backtest["cutoff"].n_unique() == 14


@pytest.mark.unit
def test_the_assessment_scores_published_probabilities_on_days_nothing_was_chosen_or_calibrated_on(
        occupancy_backtest):
    """Selection and calibration see the earlier days only: rewriting the outcomes of the held-out last days
    changes neither; the held-out rows of the selected candidate are its calibrated probabilities."""
    assessment = bt.assess(occupancy_backtest, OCCUPANCY)
    held_out = bt.evaluation_days(occupancy_backtest)["local_date"].unique().to_list()
    assert sorted(held_out) == sorted(occupancy_backtest["local_date"].unique())[-3:]  # the last quarter of 14
    assert not bt.choosing_days(occupancy_backtest)["local_date"].is_in(held_out).any()
    flipped = occupancy_backtest.with_columns(
        target=pl.when(pl.col("local_date").is_in(held_out)).then(1 - pl.col("target")).otherwise("target"))
    again = bt.assess(flipped, OCCUPANCY)
    assert again.selected == assessment.selected and again.chosen_on.equals(assessment.chosen_on)
    probabilities = np.linspace(0, 1, 11)
    assert np.array_equal(OCCUPANCY.production_extras(flipped, assessment.selected).predict(probabilities),
                          OCCUPANCY.production_extras(occupancy_backtest, assessment.selected).predict(probabilities))
    raw = bt.evaluation_days(occupancy_backtest).filter(pl.col("candidate") == assessment.selected)
    published = assessment.published.filter(pl.col("candidate") == assessment.selected)
    calibration = OCCUPANCY.production_extras(occupancy_backtest, assessment.selected)
    assert np.allclose(published.sort("room_key", "window_start")["prediction"].to_numpy(),
                       calibration.predict(np.clip(raw.sort("room_key", "window_start")["prediction"].to_numpy(), 0, 1)))


@pytest.mark.unit
def test_a_model_made_worse_is_blocked_by_the_gate(occupancy_backtest):
    worse = occupancy_backtest.with_columns(
        prediction=pl.when(pl.col("candidate") == "lightgbm").then(1 - pl.col("prediction")).otherwise("prediction"))
    pooled = bt.evaluate(worse, OCCUPANCY)
    gates = OCCUPANCY.gates(pooled, "lightgbm")
    assert not gates["brier_skill_above_0"]["passed"] and not gates["log_loss_below_baseline"]["passed"]


@pytest.mark.unit
def test_calibrated_probabilities_stay_probabilities(occupancy_backtest):
    calibrated = bt.calibration(occupancy_backtest, "lightgbm").predict(np.linspace(-0.5, 1.5, 21))
    assert calibrated.min() >= 0 and calibrated.max() <= 1 and np.all(np.diff(calibrated) >= 0)


@pytest.fixture(scope="module")
def power_backtest(grid) -> pl.DataFrame:
    power = Grid(grid.windows.with_columns(target=pl.col("power_w")), grid.weather, grid.sites, grid.holidays)
    return POWER.backtest_predictions(bt.run_backtest(build_features(power, LAST, TZ), POWER, days=14))


@pytest.mark.unit
def test_power_intervals_use_only_earlier_backtest_days(power_backtest):
    predictions = power_backtest
    first_day = predictions["local_date"].min()
    assert predictions.filter(pl.col("local_date") == first_day)["lower"].is_null().all()
    coverage = bt.evaluate(predictions, POWER).filter(pl.col("candidate") == "lightgbm")["coverage"][0]
    assert 0.6 < coverage < 0.95


def png_of(markdown: str) -> bytes:
    match = re.fullmatch(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert match, markdown[:80]
    return base64.b64decode(match.group(1))


@pytest.mark.unit
def test_the_backtest_pictures_are_png_images_in_markdown(occupancy_backtest, power_backtest):
    for markdown in (reliability_picture(occupancy_backtest), power_week_picture(power_backtest, "lightgbm")):
        assert png_of(markdown).startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.integration
def test_prediction_writes_are_idempotent(fresh_database, occupancy_backtest):
    warehouse = PostgresResource(db_url=fresh_database("ml_test"))
    store.ensure_schema(warehouse)
    rows = prediction_rows(with_backtest_versions(occupancy_backtest, OCCUPANCY), OCCUPANCY, "backtest", "run-1")
    for run in ("run-1", "run-2"):
        store.upsert_predictions(warehouse, rows.with_columns(run_id=pl.lit(run)))
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT run_id), min(run_id) FROM gold.fact_prediction")
        assert cursor.fetchone() == (rows.height, 1, "run-2")


@pytest.mark.integration
def test_the_next_day_s_backtest_keeps_the_versions_and_rows_of_its_blocks(fresh_database, features):
    """Two daily runs, the second knowing a day more: a block tested by both has the same training data, model
    version and predictions in both, so the stored backtest gains the new windows and never a second copy."""
    instant = features.filter(pl.col("local_date") == LAST)["cutoff"][0]  # the day before's run, at 08:30
    yesterday = features.with_columns(target=pl.when(bt.ended_by(instant)).then("target"))
    runs = [with_backtest_versions(bt.run_backtest(frame, OCCUPANCY, days=14), OCCUPANCY)
            for frame in (yesterday, features)]
    keys = ["candidate", "room_key", "window_start"]
    shared = runs[0].join(runs[1], on=keys, suffix="_next")
    assert shared.height > 0.8 * runs[0].height
    assert shared["model_version"].equals(shared["model_version_next"], check_names=False)
    # equal up to the last bits of a linear algebra library (a block's test matrix differs by the days tested)
    assert (shared["prediction"] - shared["prediction_next"]).abs().max() < 1e-12
    assert runs[0]["model_version"].n_unique() == 3 * len(OCCUPANCY.candidates())  # three calendar weeks
    warehouse = PostgresResource(db_url=fresh_database("ml_backtest_versions"))
    store.ensure_schema(warehouse)
    for run in runs:
        store.upsert_predictions(warehouse, prediction_rows(run, OCCUPANCY, "backtest", "r"))
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM gold.fact_prediction")
        assert cursor.fetchone()[0] == pl.concat([run.select(keys) for run in runs]).unique().height


@pytest.mark.integration
def test_the_weather_of_a_file_is_the_runs_it_held_when_it_was_fetched(warehouse, built):
    """Loaded again later, a forecast file holds runs issued all day; the features read only the runs issued by
    its fetch (WEATHER_FETCHED after its date's local midnight), as the forecast issued at the next tick saw it:
    recomputed in Polars from gold's runs."""
    weather = load_grid(warehouse, "occupied").weather
    runs = read(warehouse, "SELECT site_key, datetime_key, prediction_date, issued_at, temperature_c "
                           "FROM gold.fact_weather_hour")
    fetched_at = ((pl.col("prediction_date").cast(pl.Datetime("us")) + WEATHER_FETCHED).dt.replace_time_zone(TZ)
                  .dt.convert_time_zone("UTC"))
    held = runs.filter(pl.col("issued_at").dt.convert_time_zone("UTC") <= fetched_at)
    assert 0 < held["issued_at"].n_unique() < runs["issued_at"].n_unique()  # later runs exist, and are left out
    expected = held.group_by("site_key", "datetime_key", "prediction_date").agg(pl.col("temperature_c").mean())
    compared = weather.with_columns(datetime_key=pl.col("hour_utc").dt.strftime("%Y%m%d%H%M").cast(pl.Int64)).join(
        expected, on=["site_key", "datetime_key", "prediction_date"], how="full", suffix="_expected")
    assert compared.height == weather.height == expected.height
    assert (compared["temperature_c"] - compared["temperature_c_expected"]).abs().max() < 1e-5


@pytest.mark.integration
def test_predictions_are_visible_only_to_roles_of_their_apartment(fresh_database, bi_login, occupancy_backtest):
    warehouse = PostgresResource(db_url=fresh_database("ml_access"))
    store.ensure_schema(warehouse)
    rows = prediction_rows(occupancy_backtest.with_columns(model_version="candidate"), OCCUPANCY, "backtest", "r")
    store.upsert_predictions(warehouse, rows)
    for apartments, expected in (([100], rows.height), ([7], 0), (None, rows.height)):
        with bi_login("ml_access", apartments) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM gold.fact_prediction")
            assert cursor.fetchone()[0] == expected, apartments


@pytest.mark.unit
def test_a_backtest_on_too_few_days_says_how_many_it_needs(features):
    few = features.filter(pl.col("local_date") < FIRST + timedelta(days=10))
    with pytest.raises(ValueError, match="needs 7 days with known targets to learn from, then 7 to test from a "
                                         r"block's first day \(a Monday for weekly blocks\): 14 to 20 days in all; "
                                         "gold has 10 days"):
        bt.run_backtest(few, OCCUPANCY)


@pytest.mark.unit
def test_a_model_must_beat_the_best_baseline_not_only_the_first():
    """Beating the slot-of-week rate is not enough when the constant base rate scores better: the gates fail and
    the base rate is what would be published."""
    pooled = pl.DataFrame([
        {"candidate": "slot_of_week_smoothed", "log_loss": 0.50, "brier": 0.150, "auc": 0.70},
        {"candidate": "base_rate", "log_loss": 0.40, "brier": 0.120, "auc": 0.50},
        {"candidate": "lightgbm", "log_loss": 0.45, "brier": 0.130, "auc": 0.80}])
    assert OCCUPANCY.best_baseline(pooled) == "base_rate"
    gates = OCCUPANCY.gates(pooled, "lightgbm")
    assert not gates["log_loss_below_baseline"]["passed"] and not gates["brier_skill_above_0"]["passed"]
    assert "base_rate" in gates["log_loss_below_baseline"]["detail"]
    power = pl.DataFrame([
        {"candidate": "same_slot_last_week", "mae": 100.0, "coverage": None},
        {"candidate": "same_slot_7d_mean", "mae": 90.0, "coverage": None},
        {"candidate": "same_slot_4w_median", "mae": 70.0, "coverage": None},
        {"candidate": "lightgbm", "mae": 80.0, "coverage": 0.8}])
    assert POWER.best_baseline(power) == "same_slot_4w_median"
    assert not POWER.gates(power, "lightgbm")["mae_beats_naive"]["passed"]


@pytest.mark.unit
def test_each_room_has_its_own_interval(grid):
    """A room whose power is ten times another's gets an interval ten times as wide, and each room's coverage
    is near 80 % (pooled quantiles in watts would cover the small room always and the large one too rarely);
    the per-room gate reads each room's coverage."""
    scaled = grid.windows.with_columns(target=pl.when(pl.col("room_key") == 2).then(pl.col("power_w") * 10)
                                       .otherwise(pl.col("power_w")))
    features = build_features(Grid(scaled, grid.weather, grid.sites, grid.holidays), LAST, TZ)
    predictions = POWER.backtest_predictions(bt.run_backtest(features, POWER, days=14))
    per_room = bt.evaluate(predictions, POWER, ("room_key",))
    lightgbm = {row["room_key"]: row for row in per_room.filter(pl.col("candidate") == "lightgbm").to_dicts()}
    assert all(0.7 <= row["coverage"] <= 0.9 for row in lightgbm.values()), lightgbm
    assert lightgbm[2]["interval_width"] > 5 * lightgbm[1]["interval_width"]
    gates = POWER.gates(bt.evaluate(predictions, POWER), "lightgbm", per_room)
    assert gates["interval_coverage_per_room"]["passed"], gates
    broken = per_room.with_columns(coverage=pl.when(pl.col("room_key") == 2).then(0.5).otherwise("coverage"))
    assert not POWER.gates(bt.evaluate(predictions, POWER), "lightgbm", broken)["interval_coverage_per_room"]["passed"]


@pytest.mark.unit
def test_the_winkler_score_is_the_width_plus_the_penalty_for_missing():
    actual = np.array([5.0, 0.0, 12.0])
    lower, upper = np.array([4.0, 4.0, 4.0]), np.array([10.0, 10.0, 10.0])
    assert winkler(actual, lower, upper).tolist() == [6.0, 6.0 + 10 * 4.0, 6.0 + 10 * 2.0]  # 2 / alpha = 10
    metrics = power_metrics(actual, np.array([7.0, 7.0, 7.0]), actual, lower, upper)
    assert metrics["interval_width"] == 6.0 and metrics["coverage"] == pytest.approx(1 / 3)


@pytest.mark.unit
def test_a_room_that_stopped_reporting_is_not_forecast(features):
    """A room without a known target in the last days before the forecast day is left out and named; the
    others are forecast."""
    day = features["local_date"].max()
    silent = features.with_columns(target=pl.when((pl.col("room_key") == 2) & (pl.col("local_date") >= day - timedelta(days=5)))
                                   .then(None).otherwise("target"))
    rows, stale = current_rooms(silent, day, 3)
    assert stale == [2] and set(rows["room_key"].unique()) == {1} and rows["local_date"].unique().to_list() == [day]
    rows, stale = current_rooms(features, day, 3)
    assert stale == [] and set(rows["room_key"].unique()) == {1, 2}


@pytest.mark.unit
def test_a_model_version_changes_with_its_data_and_not_otherwise(features):
    """Equal training data, code, features and parameters give equal versions; a corrected target or feature
    gives another."""
    known = features.filter(pl.col("target").is_not_null())
    same = store.model_version("occupancy", "lightgbm", store.data_fingerprint(known.sample(fraction=1.0, shuffle=True,
                                                                                          seed=1)), FEATURES, {"a": 1})
    assert same == store.model_version("occupancy", "lightgbm", store.data_fingerprint(known), FEATURES, {"a": 1})
    corrected = known.with_columns(target=pl.when(pl.int_range(pl.len()) == 0).then(1 - pl.col("target"))
                                   .otherwise("target"))
    assert same != store.model_version("occupancy", "lightgbm", store.data_fingerprint(corrected), FEATURES, {"a": 1})
    rewarmed = known.with_columns(temperature_c=pl.when(pl.int_range(pl.len()) == pl.len() - 1)
                                  .then(pl.col("temperature_c") + 1)
                                  .otherwise("temperature_c"))  # a corrected forecast file
    assert same != store.model_version("occupancy", "lightgbm", store.data_fingerprint(rewarmed), FEATURES, {"a": 1})
    assert same != store.model_version("occupancy", "lightgbm", store.data_fingerprint(known), FEATURES, {"a": 2})


@pytest.mark.integration
def test_the_last_model_that_passed_is_found_within_its_age(fresh_database):
    """When the newest model fails its gates, the forecast falls back to the newest one that passed, if it is
    recent enough and was trained on the same features; else to the best baseline (none found here)."""
    warehouse = PostgresResource(db_url=fresh_database("ml_fallback"))
    store.ensure_schema(warehouse)

    def save(version: str, passed: bool, days_before: int, features=FEATURES) -> None:
        """A model whose data ends `days_before` days before LAST, stored now (the newest last)."""
        store.save_model(warehouse, {"model_version": version, "target": "power", "model_name": "lightgbm",
                                     "trained_from": FIRST, "trained_to": LAST - timedelta(days=days_before),
                                     "features": features, "params": {}, "metrics": {}, "gates": {},
                                     "passed_gates": passed, "run_id": "run"}, ("model", None, "baseline"))

    save("power-passed", True, 3)
    save("power-old-passed", True, 10)  # stored after, but on older data (a replay, a backfill): too old
    save("power-older-passed", True, 5)  # recent enough, stored last, but on older data than power-passed
    save("power-other-features", True, 1, features=FEATURES[:-1])
    save("power-failed", False, 0)
    assert store.latest_model(warehouse, "power").version == "power-failed"
    assert store.latest_passed_model(warehouse, "power", FEATURES, LAST - timedelta(days=7)).version == "power-passed"
    assert store.latest_passed_model(warehouse, "power", FEATURES, LAST - timedelta(days=2)) is None


@pytest.mark.integration
def test_actuals_follow_gold_corrections(fresh_database):
    """A forecast gets its actual once known, a corrected one when gold (and so the features) changes, and a
    rerun without change touches nothing."""
    warehouse = PostgresResource(db_url=fresh_database("ml_actuals"))
    store.ensure_schema(warehouse)
    start = datetime(2024, 2, 1, 8, tzinfo=timezone.utc)
    features = pl.DataFrame({"room_key": [1], "window_start": [start], "target": [120.0]})
    forecast = pl.DataFrame({"kind": ["forecast"], "model_name": ["m"], "model_version": ["v"], "target": ["power"],
                             "apartment_key": [100], "room_key": [1], "window_start": [start],
                             "issue_time": [start - timedelta(hours=8)], "probability": [None], "value": [100.0],
                             "lower_value": [None], "upper_value": [None], "actual": [None], "run_id": ["r"]},
                            schema_overrides={"probability": pl.Float64, "lower_value": pl.Float64,
                                              "upper_value": pl.Float64, "actual": pl.Float64})
    store.upsert_predictions(warehouse, forecast)
    for target, changed in ((120.0, 1), (120.0, 0), (95.0, 1)):
        store.write_frame(warehouse, "power_features", features.with_columns(target=pl.lit(target)))
        assert store.fill_actuals(warehouse, "power") == changed
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT actual FROM gold.fact_prediction")
            assert cursor.fetchone() == (target,)


@pytest.mark.unit
def test_a_room_interval_covers_70_to_90_percent_or_is_a_single_value():
    assert room_coverage_ok({"coverage": 0.8, "interval_width": 12.0})
    assert not room_coverage_ok({"coverage": 0.65, "interval_width": 12.0})
    assert not room_coverage_ok({"coverage": 0.95, "interval_width": 12.0})  # wider than it needs to be
    assert room_coverage_ok({"coverage": 0.95, "interval_width": 0.0})  # a room at rest: no narrower interval
    assert not room_coverage_ok({"coverage": 0.5, "interval_width": 0.0})
    assert not room_coverage_ok({"coverage": float("nan"), "interval_width": 1.0})


class TrainingSpy:
    """A candidate that records the newest window it was trained on and predicts the training mean."""

    name, params = "spy", {}

    def __init__(self, seen: list):
        self.seen = seen

    def fit(self, train: pl.DataFrame):
        self.seen.append(train["window_start"].max() + timedelta(minutes=15))
        self.mean = float(train["target"].mean())
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return np.full(frame.height, self.mean)


@pytest.mark.unit
def test_the_backtest_trains_and_builds_intervals_only_on_what_was_known_at_the_issue_time(grid):
    """Issued the day before at 08:30, a forecast must not learn from that day's afternoon: every training set
    ends by the cutoff of its block's first calendar day, and every interval uses residuals of windows that ended
    by its cutoff."""
    seen: list = []

    class Spied(Power):
        def candidates(self) -> list:
            return [TrainingSpy(seen)]

    power = Grid(grid.windows.with_columns(target=pl.col("power_w")), grid.weather, grid.sites, grid.holidays)
    frame = build_features(power, LAST, TZ, ISSUED)
    predictions = bt.run_backtest(frame, Spied(), days=14)
    starts = sorted({bt.block_start(day, 7) for day in predictions["local_date"].unique()})
    assert [start.weekday() for start in starts] == [0, 0, 0]  # calendar weeks, the first one partly tested
    # the newest window of each training set ends at the cutoff of its block's Monday
    assert seen == [datetime.combine(start, datetime.min.time(), ZoneInfo(TZ)) - ISSUED for start in starts]
    day = predictions["local_date"].max()
    cutoff = predictions.filter(pl.col("local_date") == day)["cutoff"][0]
    rows = predictions.with_columns(residual=pl.col("target") - pl.col("prediction"),
                                    lead=pl.col("lead_hours").floor().cast(pl.Int32))
    known = bt.residual_quantiles(rows.filter(bt.ended_by(cutoff)))
    leaked = bt.residual_quantiles(rows.filter(pl.col("local_date") < day))
    bounds = bt.with_intervals(predictions).filter(pl.col("local_date") == day).sort("room_key", "window_start")
    expected = bt.with_bounds(rows.filter(pl.col("local_date") == day), known).sort("room_key", "window_start")
    assert bounds["lower"].equals(expected["lower"]) and bounds["upper"].equals(expected["upper"])
    assert not known.sort("room_key", "lead").equals(leaked.sort("room_key", "lead"))  # the afternoon mattered


@pytest.mark.integration
def test_live_skill_scores_the_published_forecasts_and_warns_when_they_fall_behind(fresh_database, features, receiver):
    """The published occupancy forecasts of the last days, scored against their actuals: as good as the backtest
    promised, no warning; made worse (the forecast inverted), the check warns and one alert is posted."""
    url, received = receiver
    warehouse = PostgresResource(db_url=fresh_database("ml_live"))
    store.ensure_schema(warehouse)
    store.write_frame(warehouse, "occupancy_features", features)
    baseline = OCCUPANCY.candidates()[0].fit(features.filter(pl.col("target").is_not_null()))
    store.save_model(warehouse, {"model_version": "occupancy-live", "target": "occupancy", "model_name": "lightgbm",
                                 "trained_from": FIRST, "trained_to": LAST, "features": FEATURES, "params": {},
                                 "metrics": {"log_loss": 0.35}, "gates": {}, "passed_gates": True, "run_id": "r"},
                     (None, None, baseline))
    days = features.filter((pl.col("local_date") > LAST - timedelta(days=10)) & pl.col("target").is_not_null())
    live_skill = live_skill_asset(OCCUPANCY)

    def publish(probability: pl.Expr) -> dg.MaterializeResult:
        rows = days.with_columns(candidate=pl.lit("lightgbm"), prediction=probability,
                                 model_version=pl.lit("occupancy-live"))
        store.upsert_predictions(warehouse, prediction_rows(rows, OCCUPANCY, "forecast", "r"))
        return dg.materialize([live_skill], resources={"warehouse": warehouse,
                                                       "webhook": AlertWebhookResource(url=url)})

    good = publish(pl.col("slot_of_week_smoothed").fill_null(0.5).clip(0.02, 0.98))
    [check] = good.get_asset_check_evaluations()
    scores = good.asset_materializations_for_node("occupancy_live_skill")[0].metadata
    assert check.passed and received == []
    assert scores["windows_scored"].value == days.height and scores["live_28d_log_loss"].value < 0.35 * 1.25
    bad = publish(1 - pl.col("slot_of_week_smoothed").fill_null(0.5).clip(0.02, 0.98))
    [check] = bad.get_asset_check_evaluations()
    assert not check.passed and "worse than the backtest" in str(check.metadata["problems"].value)
    assert len(received) == 1 and received[0]["kind"] == "ml_skill"
