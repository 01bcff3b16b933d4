"""dbt inside the step's own process, started from the project's saved parse.

A gold run would otherwise start dbt as a new process: about 2.3 s of a 7 s day before dbt's first model, for
importing dbt (the step's process has imported it already, through dagster-dbt) and parsing the whole project
again, which dbt's command line does whenever `--vars` differ from those of its saved parse (every day's window).
Here dbt's programmatic runner runs in a thread of this process with the saved parse (`partial_parse.msgpack`
of the project's target folder) as its manifest, so it does not parse; `var()` in models, tests and hooks is
still rendered at execution with the `--vars` given. Values rendered once at parse time (the `where` of a
test) must not read the window: tests scope themselves to it through `meta.run_window` (macro
`get_where_subquery`).

dbt compiles its Jinja (about 200 macros and node templates a day's build) once per process: about 0.7 s of CPU
in a new run process's first build. The compiled templates are kept in the project's target folder
(`jinja-bytecode/`) with Jinja's own bytecode cache, keyed by the template's source, so every later process loads
them instead.

This module is the one place that uses internals of dbt-core and dagster-dbt (not exported by either): dbt's
adapter factory, manifest decoder and Jinja environment (dbt-common's), dagster-dbt's selection helpers.
`CHECKED_WITH` names the versions it was checked against; with any other installed version gold runs take
dagster-dbt's public command-line path instead (`project.py`), and a test fails until this module is checked
again.
"""

import contextlib
import ctypes
import functools
import pickle
import queue
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject
from dagster_dbt.asset_utils import extract_runtime_selection_from_args, get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from dbt.adapters.base import BaseAdapter
from dbt.adapters.factory import FACTORY
from dbt.cli.main import dbtRunner, dbtRunnerResult
from dbt.contracts.graph.manifest import Manifest
from dbt.parser.manifest import extended_mashumuro_decoder
from dbt_common.clients import jinja as dbt_jinja
from dbt_common.clients.jinja import MacroFuzzEnvironment
from dbt_common.events.base_types import EventMsg
from dbt_common.events.functions import msg_to_dict
from jinja2 import FileSystemBytecodeCache

SAVED_PARSE = "partial_parse.msgpack"
COMPILED_TEMPLATES = "jinja-bytecode"  # in the saved parse's target folder
compile_template = MacroFuzzEnvironment.compile  # Jinja's compilation, which keep_compiled_templates wraps
# The events dagster-dbt turns into materialisations and check results (DbtCoreCliEventMessage.is_result_event).
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})
STOP_WAIT_SECONDS = 60
# The versions whose internals this module was checked against (dbt-core by minor release).
CHECKED_WITH = {"dbt-core": "1.11", "dagster-dbt": "0.29.27"}


def checked(installed: Mapping[str, str]) -> bool:
    """Whether the installed dbt-core and dagster-dbt are the versions this module was checked against."""
    return (installed["dagster-dbt"] == CHECKED_WITH["dagster-dbt"]
            and installed["dbt-core"].startswith(CHECKED_WITH["dbt-core"] + "."))


def saved_parse(target_path: Path) -> Manifest | None:
    """The manifest of the saved parse in `target_path`, or None when there is none (dbt then parses)."""
    path = target_path / SAVED_PARSE
    if not path.is_file():
        return None
    return Manifest.from_msgpack(path.read_bytes(), decoder=extended_mashumuro_decoder)


@dataclass
class DbtRun:
    """One dbt command, run by dbt's programmatic runner in a thread of this process. Its result events come
    as dagster-dbt's event messages (`to_default_asset_events` gives the Dagster events); dbt's own log lines
    go to this process's standard output and to `dbt.log` in the run's target folder."""

    args: list[str]
    saved_parse_path: Path
    manifest: Mapping[str, Any]
    dagster_dbt_translator: DagsterDbtTranslator
    target_path: Path
    project: DbtProject | None
    errors: list[str] = field(default_factory=list)

    @property
    def command(self) -> str:
        return " ".join(["dbt", *self.args])

    def stream_raw_events(self) -> Iterator[DbtCoreCliEventMessage]:
        """The result events of the run as they happen; raises `DagsterDbtCliRuntimeError` once dbt has
        finished when a node failed or dbt itself did."""
        events: queue.SimpleQueue = queue.SimpleQueue()
        thread = threading.Thread(target=self._invoke, args=(events,), name="dbt", daemon=True)
        thread.start()
        try:
            while isinstance(item := events.get(), dict):
                yield DbtCoreCliEventMessage(raw_event=item, event_history_metadata={})
        except (dg.DagsterExecutionInterruptedError, KeyboardInterrupt, GeneratorExit):  # terminated, or abandoned
            stop(thread)
            raise
        if isinstance(item, BaseException):
            raise DagsterDbtCliRuntimeError(f"`{self.command}` failed: {item}") from item
        if not item.success:
            raise DagsterDbtCliRuntimeError(
                "\n\n".join([f"`{self.command}` failed (dbt log: {self.target_path / 'dbt.log'})", *self.errors])
                if item.exception is None else f"`{self.command}` failed: {item.exception}")

    def _invoke(self, events: queue.SimpleQueue) -> None:
        def forward(message: EventMsg) -> None:
            if message.info.level == "error":
                self.errors.append(message.info.msg)  # type: ignore[attr-defined]  # a protobuf field, not in the stubs
            if message.info.name in RESULT_EVENTS:
                events.put(msg_to_dict(message))

        try:
            result: dbtRunnerResult | BaseException = dbtRunner(
                manifest=saved_parse(self.saved_parse_path), callbacks=[forward]).invoke(self.args)
        except BaseException as error:  # handed to the step's thread, which raises it
            result = error
        events.put(result)


@functools.cache  # once per folder and process: later dbt commands of the process find it in place
def keep_compiled_templates(directory: Path) -> None:
    """From now on, dbt's Jinja environments in this process load a template compiled by an earlier process from
    `directory` (a folder per Jinja and dbt-common release) and store the ones they compile there. A template's
    file is named by its environment's kind (text or native, extensions), name and source; Jinja's bucket checks
    the source and the Python bytecode version on load. The cache only saves time: a file it cannot read or write
    is compiled as without it, and so is everything while dbt's macro debugging is on."""
    releases = directory / f"jinja2-{version('jinja2')}_dbt-common-{version('dbt-common')}"
    releases.mkdir(parents=True, exist_ok=True)
    cache = FileSystemBytecodeCache(str(releases), "%s.jinja")

    def compile_kept(self, source, name=None, filename=None, raw=False, defer_init=False):
        if raw or defer_init or not isinstance(source, str) or dbt_jinja.MACRO_DEBUGGING:
            return compile_template(self, source, name, filename, raw, defer_init)
        kind = "|".join([type(self).__qualname__, *sorted(self.extensions), name or "", filename or ""])
        try:
            bucket = cache.get_bucket(self, f"{kind}|{cache.get_source_checksum(source)}", None, source)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):  # a file unreadable or damaged
            return compile_template(self, source, name, filename)
        if bucket.code is None:
            bucket.code = compile_template(self, source, name, filename)  # its errors are dbt's, raised once
            with contextlib.suppress(OSError):  # a folder unwritable: compiled again by the next process
                cache.set_bucket(bucket)
        return bucket.code

    MacroFuzzEnvironment.compile = compile_kept  # type: ignore[method-assign]


def stop(thread: threading.Thread) -> None:
    """Stop a dbt run the way Ctrl-C stops dbt: its open queries are cancelled, then its thread is interrupted
    (dbt then skips the nodes not started)."""
    if not thread.is_alive() or thread.ident is None:
        return
    adapter = cast(BaseAdapter | None, FACTORY.adapters.get("postgres"))  # none before dbt has connected
    if adapter is not None:
        with adapter.connection_named("master"):  # dbt's own way: pg_terminate_backend of each open query
            adapter.cancel_open_connections()
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(KeyboardInterrupt))
    thread.join(STOP_WAIT_SECONDS)


def in_process_run(args: Sequence[str], *, context: dg.AssetExecutionContext | None, project_dir: str,
                   profiles_dir: str | None, saved_parse_path: Path, target_path: Path | None) -> DbtRun:
    """A dbt command with what `DbtCliResource.cli()` adds to it: the selection of the assets and checks the
    step materialises, and a target folder of its own (named as dagster-dbt names it)."""
    keep_compiled_templates(saved_parse_path / COMPILED_TEMPLATES)
    args, selects, excludes = extract_runtime_selection_from_args(list(args))
    params = get_updated_cli_invocation_params_for_context(
        context=context, manifest={}, dagster_dbt_translator=DagsterDbtTranslator(),
        runtime_selects=selects, runtime_excludes=excludes)
    project_path = Path(params.dbt_project.project_dir if params.dbt_project else project_dir)
    prefix = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-" if context else ""
    target_path = target_path or saved_parse_path / f"{prefix}{uuid.uuid4().hex[:7]}"
    indirect = ["--indirect-selection", params.indirect_selection] if params.indirect_selection else []
    profiles = ["--profiles-dir", profiles_dir] if profiles_dir else []
    return DbtRun(args=[*args, "--project-dir", str(project_path), *profiles, "--target-path", str(target_path),
                        "--log-path", str(target_path), *params.selection_args, *indirect],
                  saved_parse_path=saved_parse_path, manifest=params.manifest,
                  dagster_dbt_translator=params.dagster_dbt_translator, target_path=target_path,
                  project=params.dbt_project)
