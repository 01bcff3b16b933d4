"""The dashboards: Apache Superset's configuration, its provisioning and the dashboards as code (docs/dashboards.md)."""
