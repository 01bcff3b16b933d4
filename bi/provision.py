"""Superset's side of the platform, run in Superset's environment by domotic_ops/superset.py:

    python bi/provision.py dashboards          # import bi/dashboards (idempotent), roles and dashboard access
    python bi/provision.py user NAME ROLE      # create or update a user (password on stdin); ROLE manager|resident
    python bi/provision.py remove NAME         # remove a user (no error when there is none)

The dashboards' export files are imported as they are, with the warehouse's address (SUPERSET_WAREHOUSE_*)
put into the database's URL. Roles: a manager is a Superset Admin; a resident has Gamma (read dashboards and
charts, no SQL Lab, no database or dataset editing) and `Resident` (access to the warehouse's datasets, no other
database's), and sees
the "My apartment" dashboard only. What rows anybody sees is decided by the warehouse (bi/logins.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml
from flask import g

DASHBOARDS = Path(__file__).resolve().parent / "dashboards"
WAREHOUSE = DASHBOARDS / "databases" / "warehouse.yaml"
NOBODY = "superset_impersonates"  # the URL's user: every connection is the logged-in user's (superset_config.py)
RESIDENT_ROLE = "Resident"
ROLES = {"manager": ["Admin"], "resident": ["Gamma", RESIDENT_ROLE]}
# Who opens each dashboard (Superset's dashboard roles); an Admin opens every one.
DASHBOARD_ROLES = {"building": ["Admin"], "my_apartment": [RESIDENT_ROLE]}


def bundle() -> dict[str, str]:
    """The export files by their path in the bundle, the database's URL pointing at the warehouse."""
    contents = {}
    for path in sorted(DASHBOARDS.rglob("*.yaml")):
        name = path.relative_to(DASHBOARDS).as_posix()
        text = path.read_text(encoding="utf-8")
        if name.startswith("databases/"):
            config = yaml.safe_load(text)
            config["sqlalchemy_uri"] = (f"postgresql+psycopg2://{NOBODY}@"
                                        f"{os.environ['SUPERSET_WAREHOUSE_HOST']}:{os.environ['SUPERSET_WAREHOUSE_PORT']}/"
                                        f"{os.environ['SUPERSET_WAREHOUSE_DB']}")
            text = yaml.safe_dump(config, sort_keys=False)
        contents[name] = text
    return contents


def import_dashboards(app) -> None:
    from superset import db, security_manager
    from superset.commands.dashboard.importers.dispatcher import ImportDashboardsCommand
    from superset.models.core import Database
    from superset.models.dashboard import Dashboard

    g.user = security_manager.find_user(username=os.environ["SUPERSET_ADMIN_USER"])
    ImportDashboardsCommand(bundle(), overwrite=True).run()
    resident = security_manager.find_role(RESIDENT_ROLE) or security_manager.add_role(RESIDENT_ROLE)
    warehouse = db.session.query(Database).filter_by(uuid=yaml.safe_load(WAREHOUSE.read_text())["uuid"]).one()
    permission = security_manager.add_permission_view_menu("database_access", warehouse.perm)
    security_manager.add_permission_role(resident, permission)
    for slug, roles in DASHBOARD_ROLES.items():
        dashboard = db.session.query(Dashboard).filter_by(slug=slug).one()
        dashboard.roles = [security_manager.find_role(role) for role in roles]
        dashboard.published = True
    db.session.commit()
    print(f"dashboards imported: {', '.join(DASHBOARD_ROLES)}")


def save_user(name: str, kind: str, password: str) -> None:
    from superset import db, security_manager
    from werkzeug.security import generate_password_hash

    roles = [security_manager.find_role(role) for role in ROLES[kind]]
    user = security_manager.find_user(username=name)
    if user is None:
        security_manager.add_user(name, name, kind, f"{name}@domotic.invalid", roles, password)
        print(f"Superset user {name} created ({kind})")
        return
    user.roles, user.password, user.active = roles, generate_password_hash(password), True
    db.session.commit()
    print(f"Superset user {name} updated ({kind})")


def remove_user(name: str) -> None:
    from superset import db, security_manager

    user = security_manager.find_user(username=name)
    if user is None:
        print(f"Superset user {name}: none")
        return
    db.session.delete(user)
    db.session.commit()
    print(f"Superset user {name} removed")


def main(argv: list[str]) -> None:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        if argv[:1] == ["dashboards"]:
            import_dashboards(app)
        elif argv[:1] == ["user"] and len(argv) == 3 and argv[2] in ROLES:
            save_user(argv[1], argv[2], sys.stdin.readline().rstrip("\n"))
        elif argv[:1] == ["remove"] and len(argv) == 2:
            remove_user(argv[1])
        else:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
