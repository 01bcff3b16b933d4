"""The demo: `python -m demo up|down|status|generate|pg|mysql|sftp|dagster`.

The platform's commands (`python -m domotic_ops`) plus the stand-ins for the outside world: a MariaDB with
the reference tables, an sFTP server with forecast files and a share folder with sensor files, generated
from a seed. Sources you configure yourself (`MYSQL_URL`, `SFTP_HOST`, `SMB_PATH`) are never touched.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from demo.generator.apartments import apartments
from demo.generator.generate import GenerationRequest, generate
from demo.generator.reference import reference_tables
from demo.mariadb import EmbeddedMariaDB
from demo.settings import load_demo_settings, runs_mysql, runs_sftp, runs_share
from demo.sftp_server import EmbeddedSFTP
from domotic_config.settings import Settings
from domotic_ops import procs
from domotic_ops.cli import add_common_commands, platform_services, run_common


def services(settings: Settings) -> dict:
    """The platform's services plus the stand-ins this configuration needs, in start order (Dagster last)."""
    platform = platform_services(settings)
    found = {name: service for name, service in platform.items() if name != "dagster"}
    if runs_mysql(settings):
        found["mysql"] = EmbeddedMariaDB(settings)
    if runs_sftp(settings):
        found["sftp"] = EmbeddedSFTP(settings)
    return {**found, "dagster": platform["dagster"]}


def generation_request(settings: Settings, malformed: bool = True) -> GenerationRequest:
    return GenerationRequest(start=date.fromisoformat(settings["DEMO_START"]), days=int(settings["DEMO_DAYS"]),
                             apartments=int(settings["DEMO_APARTMENTS"]), seed=int(settings["DEMO_SEED"]),
                             malformed=malformed, timezone=settings["SENSOR_TIMEZONE"])


def generate_demo_data(settings: Settings, request: GenerationRequest) -> dict:
    """Write the demo sources: sensor files into the demo share, forecasts into the demo sFTP folder."""
    if not runs_share(settings) or not runs_sftp(settings):
        raise SystemExit("refusing to generate into a share or sFTP server of your own (SMB_PATH/SFTP_HOST set)")
    folder = EmbeddedSFTP(settings).folder
    return generate(request, Path(settings["SMB_PATH"]), folder, settings.runtime / "demo" / "manifest.json")


def prepare_sources(settings: Settings) -> None:
    """Load the reference tables and generate the demo files (both skipped for sources of your own)."""
    request = generation_request(settings)
    if runs_mysql(settings):
        EmbeddedMariaDB(settings).load_reference(
            reference_tables(apartments(request.apartments), request.start, request.seed))
        print(f"reference tables loaded into MariaDB ({request.apartments} apartments)")
    if runs_share(settings) and runs_sftp(settings):
        manifest = generate_demo_data(settings, request)
        files = sum(a["files"] for a in manifest["apartments"])
        print(f"demo data: {files} sensor files in {settings['SMB_PATH']}, "
              f"{manifest['weather_files']} forecast files on sFTP ({len(manifest['cases'])} malformed cases)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add_common_commands(commands, ("pg", "mysql", "sftp", "superset", "dagster"))
    gen = commands.add_parser("generate", help="generate the demo sources (DEMO_* variables as defaults)")
    gen.add_argument("--start", type=date.fromisoformat)
    gen.add_argument("--days", type=int)
    gen.add_argument("--apartments", type=int)
    gen.add_argument("--seed", type=int)
    gen.add_argument("--no-malformed", action="store_true", help="only valid files")
    args = parser.parse_args(argv)
    try:
        settings = load_demo_settings()
        if args.command == "generate":
            request = generation_request(settings, malformed=not args.no_malformed)
            request = GenerationRequest(start=args.start or request.start, days=args.days or request.days,
                                        apartments=args.apartments or request.apartments,
                                        seed=args.seed if args.seed is not None else request.seed,
                                        malformed=request.malformed, timezone=request.timezone)
            manifest = generate_demo_data(settings, request)
            print(f"{sum(a['files'] for a in manifest['apartments'])} sensor files, "
                  f"{manifest['weather_files']} forecast files, {len(manifest['cases'])} malformed cases")
            return
        run_common(args, settings, services(settings), prepare=lambda: prepare_sources(settings))
    except procs.ServiceError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
