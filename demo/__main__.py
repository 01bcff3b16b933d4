"""Operate the local platform: `python -m demo up|down|status|generate|pg|mysql|sftp|dagster`."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from demo.dagster_dev import DagsterDev
from demo.generator.apartments import apartments
from demo.generator.generate import GenerationRequest, generate
from demo.generator.reference import reference_tables
from demo.mariadb import EmbeddedMariaDB
from demo.postgres import EmbeddedPostgres
from demo.settings import Settings, load_settings
from demo.sftp_server import EmbeddedSFTP


def services(settings: Settings) -> dict:
    """The services this configuration runs itself (a server of the user's own is left alone)."""
    found = {}
    if settings.embedded_postgres:
        found["pg"] = EmbeddedPostgres(settings)
    if settings.embedded_mysql:
        found["mysql"] = EmbeddedMariaDB(settings)
    if settings.embedded_sftp:
        found["sftp"] = EmbeddedSFTP(settings)
    found["dagster"] = DagsterDev(settings)
    return found


def generation_request(settings: Settings, malformed: bool = True) -> GenerationRequest:
    return GenerationRequest(start=date.fromisoformat(settings["DEMO_START"]), days=int(settings["DEMO_DAYS"]),
                             apartments=int(settings["DEMO_APARTMENTS"]), seed=int(settings["DEMO_SEED"]),
                             malformed=malformed, timezone=settings["SENSOR_TIMEZONE"])


def generate_demo_data(settings: Settings, request: GenerationRequest) -> dict:
    """Write the demo sources: sensor files into the demo share, forecasts into the demo sFTP folder."""
    if not settings.demo_share or not settings.embedded_sftp:
        raise SystemExit("refusing to generate into a share or sFTP server of your own (SMB_PATH/SFTP_HOST set)")
    folder = EmbeddedSFTP(settings).folder
    return generate(request, Path(settings["SMB_PATH"]), folder, settings.runtime / "demo" / "manifest.json")


def load_reference_data(settings: Settings, request: GenerationRequest) -> None:
    EmbeddedMariaDB(settings).load_reference(reference_tables(apartments(request.apartments), request.start,
                                                              request.seed))


def up(settings: Settings) -> None:
    started = time.monotonic()
    found = services(settings)
    for name in ("pg", "mysql", "sftp"):
        if name in found:
            found[name].start()
            print(f"{name:8} {found[name].status()}")
    request = generation_request(settings)
    if settings.embedded_mysql:
        load_reference_data(settings, request)
        print(f"reference tables loaded into MariaDB ({request.apartments} apartments)")
    if settings.demo_share and settings.embedded_sftp:
        manifest = generate_demo_data(settings, request)
        files = sum(a["files"] for a in manifest["apartments"])
        print(f"demo data: {files} sensor files in {settings['SMB_PATH']}, "
              f"{manifest['weather_files']} forecast files on sFTP ({len(manifest['cases'])} malformed cases)")
    found["dagster"].start()
    print(f"dagster  {found['dagster'].status()}")
    print(f"\nDagster UI: {found['dagster'].url}   (ready in {time.monotonic() - started:.0f} s; stop with `make down`)")


def down(settings: Settings) -> None:
    for name, service in reversed(services(settings).items()):
        print(f"{name:8} {'stopped' if service.stop() else 'was not running'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start every service, generate the demo data, start Dagster")
    commands.add_parser("down", help="stop every process the project started")
    commands.add_parser("status", help="show what runs where")
    gen = commands.add_parser("generate", help="generate the demo sources (DEMO_* variables as defaults)")
    gen.add_argument("--start", type=date.fromisoformat)
    gen.add_argument("--days", type=int)
    gen.add_argument("--apartments", type=int)
    gen.add_argument("--seed", type=int)
    gen.add_argument("--no-malformed", action="store_true", help="only valid files")
    for name in ("pg", "mysql", "sftp", "dagster"):
        commands.add_parser(name, help=f"control the {name} service").add_argument(
            "action", choices=("start", "stop", "status"))
    args = parser.parse_args(argv)
    settings = load_settings()

    if args.command == "up":
        up(settings)
    elif args.command == "down":
        down(settings)
    elif args.command == "status":
        for name, service in services(settings).items():
            print(f"{name:8} {service.status()}")
    elif args.command == "generate":
        request = generation_request(settings, malformed=not args.no_malformed)
        request = GenerationRequest(start=args.start or request.start, days=args.days or request.days,
                                    apartments=args.apartments or request.apartments,
                                    seed=args.seed if args.seed is not None else request.seed,
                                    malformed=request.malformed, timezone=request.timezone)
        manifest = generate_demo_data(settings, request)
        print(f"{sum(a['files'] for a in manifest['apartments'])} sensor files, "
              f"{manifest['weather_files']} forecast files, {len(manifest['cases'])} malformed cases")
    else:
        found = services(settings)
        if args.command not in found:
            sys.exit(f"{args.command} is not embedded in this configuration (a server of your own is configured)")
        service = found[args.command]
        getattr(service, args.action)() if args.action != "status" else None
        print(f"{args.command:8} {service.status()}")


if __name__ == "__main__":
    main()
