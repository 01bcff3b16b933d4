"""Quality gates a model must pass on its backtest before its forecasts are published: the thresholds (each
use case applies its own, `use_cases.py`)."""

# A day-ahead occupancy forecast reaches an AUC of about 0.7–0.9 on routines; below 0.6 it hardly ranks
# windows better than chance, and 0.97 or more means the features see the answer (leakage), not skill.
AUC_FLOOR, AUC_LEAKAGE_ALARM = 0.6, 0.97
POWER_MAE_SHARE = 0.95
COVERAGE = (0.75, 0.85)
ROOM_COVERAGE = (0.70, 0.90)  # each room's own 80 % interval


def gate(passed: bool, detail: str) -> dict:
    return {"passed": bool(passed), "detail": detail}
