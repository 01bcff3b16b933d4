"""Benchmark of the ML assets (features, 28-cutoff backtest, training, next-day forecast, live skill) for both use cases
on the gold that `scripts/bench_gold.py` leaves in its workdir (85 days, 2 apartments by default); prints
seconds, peak memory and the metrics; asserts nothing.

    .venv/bin/python scripts/bench_gold.py          # once: generates, loads silver and builds gold
    .venv/bin/python scripts/bench_ml.py [--workdir /tmp/domotic-bench]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import dagster as dg
import polars as pl

from domotic_assets.governance.live_skill import live_skill_asset
from domotic_assets.ml import backtest as bt
from domotic_assets.ml import store
from domotic_assets.ml.assets import ml_assets
from domotic_assets.ml.use_cases import USE_CASES
from resources.alerts import AlertWebhookResource
from scripts.bench_gold import gold_warehouse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/domotic-bench"))
    args = parser.parse_args()
    with gold_warehouse(args.workdir) as warehouse:
        total = 0.0
        for use_case in USE_CASES:
            started = time.perf_counter()
            result = dg.materialize([*ml_assets(use_case), live_skill_asset(use_case)], resources={"warehouse": warehouse,
                                                                    "webhook": AlertWebhookResource()},
                                    raise_on_error=False)
            seconds = time.perf_counter() - started
            total += seconds
            gates = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
            print(f"{use_case.name}: features, backtest, model, forecast, live skill in {seconds:.1f} s (checks passed: {gates})")
            assessment = bt.assess(store.read_frame(warehouse, f"{use_case.name}_backtest"), use_case)
            with pl.Config(tbl_rows=20, tbl_cols=20, tbl_width_chars=200, float_precision=4):
                print(f"chosen on the earlier days: {assessment.selected}\n{assessment.chosen_on}")
                print(f"the evaluation days, as published:\n{assessment.pooled}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"both use cases: {total:.1f} s, peak memory of the process {peak:.0f} MiB")


if __name__ == "__main__":
    main()
