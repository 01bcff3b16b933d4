"""Alerts: a JSON POST to a webhook of the operator's choice (`ALERT_WEBHOOK_URL`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import dagster as dg
from pydantic import Field


class AlertWebhookResource(dg.ConfigurableResource):
    """Where alerts are posted; an empty URL sends nothing."""

    url: str = Field(default="", description="ALERT_WEBHOOK_URL (a secret: it often holds a token)")
    timeout_seconds: float = 10.0

    def post(self, alert: dict) -> str | None:
        """Send the alert; the HTTP status or the error (never raised), None without a URL."""
        if not self.url:
            return None
        request = urllib.request.Request(self.url, data=json.dumps(alert).encode("utf-8"), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return str(response.status)
        except urllib.error.HTTPError as error:
            return str(error.code)
        except (urllib.error.URLError, OSError) as error:
            return f"{type(error).__name__}: {getattr(error, 'reason', error)}"
