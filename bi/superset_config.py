"""Apache Superset's configuration (SUPERSET_CONFIG_PATH), written by the platform's service
(domotic_ops/superset.py), which passes every value below through the environment: nothing secret is in a file.

The warehouse connection impersonates the logged-in user: `DB_CONNECTION_MUTATOR` connects as the PostgreSQL
login of the same name with its derived password (bi/logins.py), so row-level security applies to every query
Superset runs. Results are never cached (a cache could serve one person's rows to another).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import g, has_app_context  # noqa: E402

from bi.logins import warehouse_password  # noqa: E402

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_URL"]
WAREHOUSE = (os.environ["SUPERSET_WAREHOUSE_HOST"], int(os.environ["SUPERSET_WAREHOUSE_PORT"]),
             os.environ["SUPERSET_WAREHOUSE_DB"])

FEATURE_FLAGS = {"DASHBOARD_RBAC": True, "ENABLE_TEMPLATE_PROCESSING": False}
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
PUBLIC_ROLE_LIKE = None
PREVENT_UNSAFE_DB_CONNECTIONS = True
LOG_LEVEL = "WARNING"


def DB_CONNECTION_MUTATOR(url, params, username, security_manager, source):  # noqa: N802 (Superset's name)
    """Connections to the warehouse run as the logged-in user's own login, and only for a logged-in user (the
    database's URL names a placeholder user, never a login); other databases are left alone."""
    if (url.host, url.port, url.database) != WAREHOUSE:
        return url, params
    logged_in = getattr(getattr(g, "user", None), "username", None) if has_app_context() else None
    if not username or username != logged_in:
        raise PermissionError("the warehouse is read as the logged-in user's own login only")
    return url.set(username=username, password=warehouse_password(os.environ["SUPERSET_LOGIN_KEY"], username)), params
