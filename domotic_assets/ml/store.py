"""Where the ML assets keep their work in the warehouse: feature and backtest frames (schema `ml`), model
versions with their training window, parameters and metrics (`ml.models`), and the predictions
(`gold.fact_prediction`, upserted on its natural key)."""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version as metadata_version
from pathlib import Path
from typing import Any

import polars as pl
from psycopg2 import sql

from domotic_assets.ml.models import Baseline, LightGBM, Linear
from resources.postgres import PostgresResource, copy_frame

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS ml;
CREATE TABLE IF NOT EXISTS ml.models (
    model_version text PRIMARY KEY,
    target        text        NOT NULL,
    model_name    text        NOT NULL,
    trained_from  date        NOT NULL,
    trained_to    date        NOT NULL,
    features      text[]      NOT NULL,
    params        jsonb       NOT NULL,
    metrics       jsonb       NOT NULL,
    gates         jsonb       NOT NULL,
    passed_gates  boolean     NOT NULL,
    model         bytea       NOT NULL,
    run_id        text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS gold.fact_prediction (
    kind          text             NOT NULL CHECK (kind IN ('forecast', 'backtest')),
    model_name    text             NOT NULL,
    model_version text             NOT NULL,
    target        text             NOT NULL CHECK (target IN ('occupancy', 'power')),
    apartment_key bigint           NOT NULL,
    room_key      bigint           NOT NULL,
    window_start  timestamptz      NOT NULL,
    issue_time    timestamptz      NOT NULL,
    probability   double precision,
    value         double precision,
    lower_value   double precision,
    upper_value   double precision,
    actual        double precision,
    run_id        text             NOT NULL,
    written_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, model_version, target, room_key, window_start, issue_time)
);
SELECT governance.protect_apartment_rows('gold.fact_prediction');
"""
PREDICTION_COLUMNS = ("kind", "model_name", "model_version", "target", "apartment_key", "room_key", "window_start",
                      "issue_time", "probability", "value", "lower_value", "upper_value", "actual", "run_id")


@dataclass(frozen=True)
class StoredModel:
    version: str
    target: str
    name: str
    passed_gates: bool
    # the fitted candidate, its calibration or intervals, and the best baseline (published if it failed its gates)
    model: tuple[Baseline | Linear | LightGBM, Any, Baseline]
    metrics: dict  # the held-out metrics it was judged on (its backtest's assessment)


def model_version(target: str, name: str, data: str, features: tuple[str, ...], params: dict) -> str:
    """A version derived from what the model learnt from and how (the training data's fingerprint, the code of
    the ML package, the features and parameters): equal inputs, equal version; a gold correction or a code change
    makes a new one."""
    digest = hashlib.sha256(json.dumps([target, name, data, CODE_VERSION, list(features), params],
                                       sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{target}-{name}-{digest}"


def data_fingerprint(frame: pl.DataFrame) -> str:
    """A digest of the rows with a known target a model learns from (every column: the target and its
    features, a corrected weather file or plug reading changes it too), in a fixed order."""
    rows = frame.filter(pl.col("target").is_not_null()).select(sorted(frame.columns)).sort(
        "room_key", "window_start", "cutoff")
    return hashlib.sha256(rows.write_csv().encode()).hexdigest()[:16]


def code_version() -> str:
    """A digest of the ML package's source files: features, models, backtest, use cases, metrics, gates."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


CODE_VERSION = code_version()
LIBRARIES = ("lightgbm", "scikit-learn", "polars", "numpy")


def library_versions() -> dict[str, str]:
    return {name: metadata_version(name) for name in LIBRARIES}


def ensure_schema(warehouse: PostgresResource) -> None:
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('domotic ml schema'))")
        cursor.execute(SCHEMA_SQL)


def write_frame(warehouse: PostgresResource, table: str, frame: pl.DataFrame) -> None:
    """Replace ml.<table> with the frame (one transaction)."""
    types = {pl.Float64: "double precision", pl.Float32: "double precision", pl.Int64: "bigint", pl.Int32: "integer",
             pl.Int16: "smallint", pl.Int8: "smallint", pl.Date: "date", pl.String: "text", pl.Boolean: "boolean"}
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(
            "timestamptz" if isinstance(kind, pl.Datetime) else types[kind.base_type()]))
        for name, kind in frame.schema.items())
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier("ml", table)))
        cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier("ml", table), columns))
        copy_frame(cursor, frame, f"ml.{table}")


ROW_ORDER = ("candidate", "room_key", "window_start", "cutoff")  # the keys of the feature and backtest frames


def read_frame(warehouse: PostgresResource, table: str) -> pl.DataFrame:
    """A frame of schema `ml`, in a fixed row order: the models (LightGBM's bagging draws rows by position) learn
    the same from the same rows."""
    with warehouse.connect() as connection:
        frame = pl.read_database(sql.SQL("SELECT * FROM {}").format(sql.Identifier("ml", table)).as_string(connection),
                                 connection, infer_schema_length=None)
    return frame.sort([key for key in ROW_ORDER if key in frame.columns])


def save_model(warehouse: PostgresResource, record: dict, model: object) -> None:
    """Insert a model version (a rerun of the same version replaces it)."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO ml.models (model_version, target, model_name, trained_from, trained_to, features, params,
                                   metrics, gates, passed_gates, model, run_id)
            VALUES (%(model_version)s, %(target)s, %(model_name)s, %(trained_from)s, %(trained_to)s, %(features)s,
                    %(params)s, %(metrics)s, %(gates)s, %(passed_gates)s, %(model)s, %(run_id)s)
            ON CONFLICT (model_version) DO UPDATE SET metrics = EXCLUDED.metrics, gates = EXCLUDED.gates,
                passed_gates = EXCLUDED.passed_gates, model = EXCLUDED.model, run_id = EXCLUDED.run_id,
                created_at = now()""",
            {**record, "features": list(record["features"]), "params": json.dumps(record["params"], default=str),
             "metrics": json.dumps(record["metrics"]), "gates": json.dumps(record["gates"]),
             "model": pickle.dumps(model)})


def latest_model(warehouse: PostgresResource, target: str) -> StoredModel | None:
    return _newest_model(warehouse, target, "ORDER BY created_at DESC", ())


def model_metrics(warehouse: PostgresResource, version: str) -> dict:
    """The held-out metrics the model version was judged on (its backtest's assessment)."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT metrics FROM ml.models WHERE model_version = %s", (version,))
        row = cursor.fetchone()
    return row[0] if row else {}


def latest_passed_model(warehouse: PostgresResource, target: str, features: tuple[str, ...],
                        trained_since: date) -> StoredModel | None:
    """The newest model that passed its gates, trained on these features with data up to `trained_since` or
    later (its age is its data's, whenever it was stored)."""
    return _newest_model(warehouse, target, "AND passed_gates AND features = %s AND trained_to >= %s "
                                            "ORDER BY trained_to DESC, created_at DESC", (list(features), trained_since))


def _newest_model(warehouse: PostgresResource, target: str, condition_and_order: str,
                  parameters: tuple) -> StoredModel | None:
    """The first of the target's stored models by `condition_and_order` (a constant clause, its values in
    `parameters`)."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT model_version, model_name, passed_gates, model, metrics FROM ml.models "
                       f"WHERE target = %s {condition_and_order} LIMIT 1", (target, *parameters))
        row = cursor.fetchone()
    return StoredModel(row[0], target, row[1], row[2], pickle.loads(row[3]), row[4]) if row else None


def upsert_predictions(warehouse: PostgresResource, frame: pl.DataFrame) -> int:
    """Insert or update predictions on (kind, model_version, target, room_key, window_start, issue_time)."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE incoming (LIKE gold.fact_prediction INCLUDING DEFAULTS) ON COMMIT DROP")
        copy_frame(cursor, frame.select(PREDICTION_COLUMNS), "incoming")
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in PREDICTION_COLUMNS[8:] + ("written_at",))
        cursor.execute(f"""
            INSERT INTO gold.fact_prediction SELECT * FROM incoming
            ON CONFLICT (kind, model_version, target, room_key, window_start, issue_time) DO UPDATE SET {updates}""")
        return cursor.rowcount


def fill_actuals(warehouse: PostgresResource, target: str) -> int:
    """Earlier forecasts get their actual once the features know it, and a new one when gold corrected it."""
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("""
            UPDATE gold.fact_prediction AS prediction SET actual = features.target
            FROM {} AS features
            WHERE prediction.kind = 'forecast' AND prediction.target = %s
              AND prediction.actual IS DISTINCT FROM features.target
              AND features.target IS NOT NULL AND features.room_key = prediction.room_key
              AND features.window_start = prediction.window_start""").format(
            sql.Identifier("ml", f"{target}_features")), (target,))
        return cursor.rowcount
