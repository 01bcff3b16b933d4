"""Regenerate the configuration table of docs/configuration.md and `.env.example` from the variable declarations
(`domotic_config.variables.VARIABLES` and the demo's `DEMO_VARIABLES`): `.venv/bin/python scripts/config_docs.py`."""

from __future__ import annotations

from pathlib import Path

from demo.settings import DEMO_VARIABLES
from domotic_config.docs import render_env_example, render_table, replace_table
from domotic_config.variables import VARIABLES

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    variables = (*VARIABLES, *DEMO_VARIABLES)
    page = ROOT / "docs" / "configuration.md"
    page.write_text(replace_table(page.read_text(encoding="utf-8"), render_table(variables)), encoding="utf-8")
    (ROOT / ".env.example").write_text(render_env_example(variables), encoding="utf-8")
    print(f"docs/configuration.md and .env.example: {len(variables)} variables")


if __name__ == "__main__":
    main()
