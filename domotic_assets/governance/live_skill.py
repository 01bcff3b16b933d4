"""The live skill of each ML use case (domotic_assets/ml/live.py) as an asset after its forecast: the published
forecasts scored against their actuals, a warning check, and an alert (governance.alerts and the webhook) when
they fall behind the backtest or a baseline was published. In governance: it raises alerts."""

from typing import Any

import dagster as dg
import polars as pl

from domotic_assets.governance.alerts import Alert, raise_alert
from domotic_assets.ml import live, store
from domotic_assets.ml.assets import FOLLOW_AUTOMATION, ML_POOL
from domotic_assets.ml.use_cases import UseCase
from domotic_assets.timing import TIMEZONE
from domotic_config.variables import value
from resources.alerts import AlertWebhookResource
from resources.postgres import PostgresResource

LIVE_CHECK = "live_skill_holds"


def live_skill_asset(use_case: UseCase) -> dg.AssetsDefinition:
    """`<use case>_live_skill`, downstream of `<use case>_forecast`."""
    target = use_case.name

    @dg.asset(name=f"{target}_live_skill", group_name="ml", deps=[dg.AssetKey(f"{target}_forecast")], pool=ML_POOL,
              kinds={"postgres"}, automation_condition=FOLLOW_AUTOMATION,
              check_specs=[dg.AssetCheckSpec(LIVE_CHECK, asset=f"{target}_live_skill",
                                             description="the published forecasts score as the backtest promised")])
    def live_skill(context: dg.AssetExecutionContext, warehouse: PostgresResource, webhook: AlertWebhookResource):
        """The published forecasts scored against their actuals over the last 7 and 28 days, beside the
        backtest's held-out figures; a warning (and an alert) when they fall behind or a baseline was published."""
        rows = live.published_with_actuals(warehouse, target, TIMEZONE)
        stored = store.latest_model(warehouse, target)
        if stored is None:
            raise dg.Failure(f"no {target} model yet: materialise {target}_model first")
        frame = store.read_frame(warehouse, f"{target}_features")
        rows = rows.join(frame.drop("target", "local_date", "cutoff"), on=["room_key", "window_start"], how="inner")
        skill = live.live_skill(rows, pl.Series(stored.model[2].predict(rows)), use_case)
        headline = live.HEADLINE[target]
        backtest_value = float(stored.metrics.get(headline, float("nan")))
        margin = float(value("ML_LIVE_SKILL_MARGIN"))
        behind = skill.behind(headline, backtest_value, margin)
        problems = ([f"live {headline} {skill.scores[live.SPANS[-1]][headline]:.4g} over {live.SPANS[-1]} days is more "
                     f"than {margin:.0%} worse than the backtest's {backtest_value:.4g}"] if behind else [])
        problems += ([f"a baseline was published on {', '.join(map(str, skill.fallback_days))}"]
                     if skill.fallback_days else [])
        if problems:
            raise_alert(warehouse, webhook, context.log.warning, Alert(
                kind="ml_skill", key=f"ml_skill:{target}:{skill.last_day}", message="; ".join(problems),
                text=f"{target} forecasts: {'; '.join(problems)}", fields={"target": target}))
        metadata: dict[str, Any] = {"windows_scored": rows.height, "last_day": str(skill.last_day),
                                    f"backtest_{headline}": backtest_value}
        for span, scores in skill.scores.items():
            metadata.update({f"live_{span}d_{name}": float(score) for name, score in scores.items()})
        if rows.height:
            metadata["picture"] = dg.MetadataValue.md(use_case.picture(rows, "published"))
        yield dg.MaterializeResult(metadata=metadata)
        yield dg.AssetCheckResult(check_name=LIVE_CHECK, passed=not problems, severity=dg.AssetCheckSeverity.WARN,
                                  metadata={"problems": dg.MetadataValue.json(problems)})

    return live_skill
