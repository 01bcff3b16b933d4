"""The repository's layout: every import points down the layers (docs/architecture.md#layers), so that no
package depends on one built on top of it and no two packages import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from domotic_config.dbt_vars import project_vars
from domotic_config.variables import TIMEZONE

ROOT = Path(__file__).resolve().parents[1]
# Lowest first. A module may import its own room and any room below it, never one above.
LAYERS = (
    "domotic_config",
    "sensors_io",
    "resources",
    "domotic_assets.timing",
    "domotic_assets.freshness",
    "domotic_assets.automation",
    "domotic_assets.bronze",
    "domotic_assets.silver",
    "domotic_assets.gold",
    "domotic_assets.ml",
    "domotic_assets.governance",
    "domotic_assets.ingestion",
    "domotic_assets",
    "domotic_ops",
    "demo",
)


def room(module: str) -> str | None:
    """The layer a dotted module name belongs to (the longest matching prefix), None for third parties."""
    matches = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len, default=None)


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def upward_imports(root: Path = ROOT) -> list[str]:
    wrong = []
    for package in {layer.split(".")[0] for layer in LAYERS}:
        for path in sorted((root / package).rglob("*.py")):
            source = room(".".join(path.relative_to(root).with_suffix("").parts))
            for module in imports(path):
                target = room(module)
                if target is not None and LAYERS.index(target) > LAYERS.index(source):
                    wrong.append(f"{path.relative_to(root)} ({source}) imports {module} ({target})")
    return wrong


@pytest.mark.unit
def test_every_import_points_down_the_layers():
    assert upward_imports() == []


@pytest.mark.unit
def test_the_layer_check_sees_an_upward_import(tmp_path):
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "probe.py").write_text("import dagster\nfrom domotic_config import variables\n"
                                                     "from domotic_assets.silver import store\n")
    assert upward_imports(tmp_path) == [
        "resources/probe.py (resources) imports domotic_assets.silver (domotic_assets.silver)",
        "resources/probe.py (resources) imports domotic_assets.silver.store (domotic_assets.silver)"]


@pytest.mark.unit
def test_the_dbt_project_keeps_the_platform_s_time_zone():
    """dbt renders local dates in var('timezone'); the platform's zone is declared in domotic_config, and dbt's
    copy of it (for dbt run by hand) must not drift from it."""
    assert project_vars()["timezone"] == TIMEZONE

