"""Quality gates a model must pass on its backtest before its forecasts are published."""

from __future__ import annotations

import polars as pl

from domotic_assets.ml.models import candidates

# A day-ahead occupancy forecast reaches an AUC of about 0.7–0.9 on routines; below 0.6 it hardly ranks
# windows better than chance, and 0.97 or more means the features see the answer (leakage), not skill.
AUC_FLOOR, AUC_LEAKAGE_ALARM = 0.6, 0.97
POWER_MAE_SHARE = 0.95
COVERAGE = (0.75, 0.85)


def gate_results(pooled: pl.DataFrame, target: str, selected: str) -> dict[str, dict]:
    """Each gate: passed, and a sentence with the figures."""
    rows = {row["candidate"]: row for row in pooled.to_dicts()}
    chosen = rows[selected]
    if target == "occupancy":
        baseline = rows[candidates(target)[0].name]
        return {
            "brier_skill_above_0": _gate(chosen["brier_skill"] > 0,
                                         f"Brier skill score {chosen['brier_skill']:.3f} against the slot-of-week rate"),
            "log_loss_below_baseline": _gate(chosen["log_loss"] < baseline["log_loss"],
                                             f"log loss {chosen['log_loss']:.4f} vs baseline {baseline['log_loss']:.4f}"),
            "auc_in_range": _gate(AUC_FLOOR <= chosen["auc"] < AUC_LEAKAGE_ALARM,
                                  f"AUC {chosen['auc']:.3f} (floor {AUC_FLOOR}, leakage alarm at {AUC_LEAKAGE_ALARM})"),
        }
    naive = min(rows[c.name]["mae"] for c in candidates(target) if c.name.startswith("same_slot"))
    coverage = chosen.get("coverage")
    return {
        "mae_beats_naive": _gate(chosen["mae"] <= POWER_MAE_SHARE * naive,
                                 f"MAE {chosen['mae']:.1f} W vs {POWER_MAE_SHARE} × best naive {naive:.1f} W"),
        "interval_coverage": _gate(coverage is not None and COVERAGE[0] <= coverage <= COVERAGE[1],
                                   f"80 % interval coverage {coverage:.3f} (wanted {COVERAGE[0]}–{COVERAGE[1]})"),
    }


def _gate(passed: bool, detail: str) -> dict:
    return {"passed": bool(passed), "detail": detail}
