"""Who a Superset user is in the warehouse: the PostgreSQL login of the same name, whose password is derived from
SUPERSET_LOGIN_KEY. Superset then queries as that login, so the warehouse's row-level security decides what
each person sees (governance.apartment_access), whatever the path: a dashboard, a chart's data API, a filter.

Standard library only: imported by the platform and by Superset's configuration, in two environments.
"""

from __future__ import annotations

import hashlib
import hmac
import re

USERNAME = re.compile(r"[a-z][a-z0-9_]{1,39}")


def check_username(username: str) -> str:
    """The name itself, or ValueError: lower-case letters, digits and `_`, a letter first, 2 to 40 characters
    (a Superset username and a PostgreSQL login without quoting)."""
    if not USERNAME.fullmatch(username):
        raise ValueError(f"{username!r} is not a valid user name: use a-z, 0-9 and _, starting with a letter "
                         "(2 to 40 characters)")
    return username


def warehouse_password(key: str, username: str) -> str:
    """The warehouse password of a Superset user's login: an HMAC of its name, never stored."""
    if not key:
        raise ValueError("SUPERSET_LOGIN_KEY is empty")
    return hmac.new(key.encode(), b"warehouse-login:" + check_username(username).encode(), hashlib.sha256).hexdigest()
