"""Bronze assets: sensor JSON files from the SMB share and forecast CSVs from the sFTP server."""

import time
from datetime import date

import dagster as dg

from domotic_assets.timing import daily_partitions
from domotic_config.variables import integer
from resources.bronze import BronzeResource
from resources.sftp import DownloadFailed, SFTPConfigurationError, SFTPResource
from resources.smb import SMBShareResource
from sensors_io.atomic_copy import same_version
from sensors_io.bronze_layout import partition_prefix, weather_bronze_path
from sensors_io.filenames import weather_filename
from sensors_io.safe_names import unsafe_reason
from sensors_io.sensor_copy import CopyReport, copy_day

# Transient source errors are retried by Dagster after a delay that doubles, never by sleeping in the step.
SHARE_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL)
SFTP_RETRY_POLICY = dg.RetryPolicy(max_retries=integer("SFTP_MAX_RETRIES"), delay=integer("SFTP_RETRY_DELAY"),
                                   backoff=dg.Backoff.EXPONENTIAL)


class SensorCopyConfig(dg.Config):
    settle_seconds: float = 5.0
    workers: int = 16
    files: list[str] = []
    """Names of new files of a one-day run, as the SMB sensor found them: only they are looked up and copied.
    Empty (the default): the day is listed on the share."""


def _preview(rows: list[tuple[str, str]], limit: int = 20) -> dg.MetadataValue:
    lines = "\n".join(f"| {name} | {reason} |" for name, reason in rows[:limit])
    more = f"\n\n… and {len(rows) - limit} more" if len(rows) > limit else ""
    return dg.MetadataValue.md(f"| file | reason |\n|---|---|\n{lines}{more}" if rows else "none")


@dg.asset(partitions_def=daily_partitions, group_name="bronze", kinds={"smb", "json"},
          backfill_policy=dg.BackfillPolicy.single_run(), retry_policy=SHARE_RETRY_POLICY)
def bronze_sensor_files(context: dg.AssetExecutionContext, config: SensorCopyConfig, share: SMBShareResource,
                        bronze: BronzeResource) -> dg.MaterializeResult:
    """Raw sensor JSON files of the SMB share, copied unchanged into BRONZE_ROOT/<apartment>/YYYY/MM/DD/HH/.
    Grain: one file per apartment and minute; partition = the local date in the file name."""
    started = time.monotonic()
    names = _named_files(config.files, context.partition_keys)
    total = CopyReport()
    for key in context.partition_keys:
        report = copy_day(share, bronze.path, bronze.apartments(), key, time.time(), config.settle_seconds,
                          config.workers, names)
        context.log.info(f"{key}: {report.listed} files {'named' if names else 'on the share'}, {report.copied} "
                         f"copied, {report.skipped} "
                         f"already in bronze, {len(report.deferred)} still being written, "
                         f"{len(report.rejected)} rejected, {len(report.failed)} unreadable"
                         + (f", {report.erased} of erased apartments left on the share" if report.erased else ""))
        for name, reason in report.rejected:
            context.log.warning(f"rejected {name}: {reason}")
        if report.gone:
            context.log.warning(f"{len(report.gone)} named files are no longer on the share, e.g. {report.gone[0]}")
        if names and report.deferred:  # changed since the sensor saw them: its next full listing requests them
            context.log.warning(f"{len(report.deferred)} named files changed since the sensor saw them, e.g. "
                                f"{report.deferred[0]}; the sensor's next full listing brings them")
        for name, error in report.failed:
            context.log.error(f"could not copy {name}: {error}")
        total.listed += report.listed
        total.copied += report.copied
        total.skipped += report.skipped
        total.bytes += report.bytes
        total.deferred += report.deferred
        total.rejected += report.rejected
        total.failed += report.failed
        total.apartments |= report.apartments
        total.erased += report.erased
        total.gone += report.gone
    seconds = time.monotonic() - started
    if total.failed:
        raise dg.Failure(description=f"{len(total.failed)} files could not be read from the share; they stay "
                                     "there and are copied by the next run",
                         metadata={"unreadable": _preview(total.failed)})
    return dg.MaterializeResult(metadata={
        "files_on_share": total.listed,
        "files_copied": total.copied,
        "files_skipped": total.skipped,
        "files_deferred": len(total.deferred),
        "files_rejected": len(total.rejected),
        "files_of_erased_apartments": total.erased,
        "named_files_gone": len(total.gone),
        "rejected": _preview(total.rejected),
        "bytes_copied": total.bytes,
        "apartments": ", ".join(sorted(total.apartments)),
        "seconds": round(seconds, 3),
        "files_per_second": round(total.copied / seconds, 1) if seconds else 0.0,
        "dagster/row_count": total.copied + total.skipped,
    })


def _named_files(files: list[str], partition_keys: list[str]) -> list[str] | None:
    """The `files` of the config, which must all be plain file names of the run's one day; None when the day
    is to be listed."""
    if not files:
        return None
    if len(partition_keys) != 1:
        raise dg.Failure(description="`files` names the new files of one day: give it to one-day runs only",
                         allow_retries=False)
    unsafe = [f"{name!r} is {reason}" for name in files if (reason := unsafe_reason(name))]
    if unsafe:
        raise dg.Failure(description=f"{len(unsafe)} of `files` are not file names of the share, e.g. {unsafe[0]}",
                         allow_retries=False)
    foreign = [name for name in files if not name.startswith(partition_prefix(partition_keys[0]))]
    if foreign:
        raise dg.Failure(description=f"{len(foreign)} of `files` are not files of {partition_keys[0]}, e.g. "
                                     f"{foreign[0]!r}", allow_retries=False)
    return files


@dg.asset(partitions_def=daily_partitions, group_name="bronze", kinds={"sftp", "csv"},
          backfill_policy=dg.BackfillPolicy.single_run(), retry_policy=SFTP_RETRY_POLICY)
def bronze_weather_files(context: dg.AssetExecutionContext, sftp: SFTPResource,
                         bronze: BronzeResource) -> dg.MaterializeResult:
    """Daily weather-forecast CSVs (Pred_YYYY-MM-DD.csv) downloaded unchanged from the sFTP server into
    BRONZE_ROOT/weather/YYYY/MM/DD/. Grain: one file per prediction (issue) date = partition."""
    started = time.monotonic()
    downloaded, skipped, size, failures, absent = [], [], 0, [], []
    try:
        with sftp.session() as session:
            remote = {f.name: f for f in sftp.list_files(session)}
        for key in context.partition_keys:
            name = weather_filename(date.fromisoformat(key))
            target = weather_bronze_path(bronze.path, date.fromisoformat(key), name)
            if name not in remote:
                absent.append((name, f"not in the listing of {sftp.path}"))
            elif same_version(target, remote[name].size, remote[name].mtime):
                skipped.append(name)
            else:
                try:
                    size += sftp.download(name, target)
                    downloaded.append(name)
                except DownloadFailed as error:
                    context.log.warning(str(error))
                    failures.append((name, str(error)))
    except SFTPConfigurationError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    if failures:  # transient: the step's retry policy runs again later (files already in bronze are skipped)
        raise dg.Failure(description=f"{len(failures)} forecast files could not be downloaded; the step is retried",
                         metadata={"failed": _preview(failures)})
    if absent:
        raise dg.Failure(description=f"{len(absent)} forecast files are not on the sFTP server "
                                     f"({', '.join(n for n, _ in absent[:5])}); nothing was downloaded for them",
                         metadata={"absent": _preview(absent), "files_downloaded": len(downloaded)},
                         allow_retries=False)
    seconds = time.monotonic() - started
    context.log.info(f"{len(downloaded)} forecast files downloaded ({size} bytes), {len(skipped)} already in bronze")
    return dg.MaterializeResult(metadata={
        "files_downloaded": len(downloaded),
        "files_skipped": len(skipped),
        "bytes_downloaded": size,
        "seconds": round(seconds, 3),
        "files": ", ".join(downloaded + skipped),
        "dagster/row_count": len(downloaded) + len(skipped),
    })
