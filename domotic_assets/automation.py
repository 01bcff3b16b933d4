"""When an update of an asset's inputs counts as handled, for the assets that follow their inputs' days (the gold
days, the device-health alerts)."""

import dagster as dg

# An update of the inputs is handled by a request of the asset, or by a build of it that the automation did not
# request (a backfill, a run from the UI). Not by a build the automation requested: such a run read its inputs as
# they were when it started, so an input updated while it builds requests the asset again once it is done.
# (Dagster's `since_last_handled` would count that build as handling the update, which would then wait for the
# next one.) An input built in the same run as the asset is not an update for it (Dagster's `any_deps_updated`).
AUTOMATION_RUN = "dagster/from_automation_condition"
HANDLED = (dg.AutomationCondition.newly_requested()
           | (dg.AutomationCondition.newly_updated()
              & ~dg.AutomationCondition.all_new_updates_have_run_tags(tag_keys={AUTOMATION_RUN}))
           | dg.AutomationCondition.initial_evaluation()).with_label("handled")
# The device-health alerts: a build in a backfill handles too. The automation's backfill of several days (a day's
# first hour: yesterday and today) builds the days' facts in one run and each day's alerts in a run of its own
# after it; those alerts read the facts, and would otherwise be requested once more when the backfill ends.
BACKFILL_RUN = "dagster/backfill"
HANDLED_OR_BACKFILLED = (HANDLED | (dg.AutomationCondition.newly_updated()
                                    & dg.AutomationCondition.any_new_update_has_run_tags(tag_keys={BACKFILL_RUN}))
                         ).with_label("handled, or built in a backfill")
