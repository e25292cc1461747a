"""What ``python -m pipelines.build`` shows while it runs: one line per step as it starts and ends,
with the time since the build started and the rows it wrote, and a progress indicator on long steps.

Input: the run's Dagster events (:class:`~dagster.EventLogEntry`, fed by
``DagsterInstance.add_event_listener`` as they are stored) and the lines dbt prints while the
dbt step runs (``N of M START …`` / ``N of M PASS …``, forwarded by :class:`LineSink`). Output:
lines such as ::

    [   9.8 s] raw__prices_daily started
    [  15.1 s] raw__prices_daily: 619,017 rows loaded, 23 rejected; 2 checks passed (5.3 s)
    [  40.2 s] dbt_models: 160 of 295 dbt models and tests done

On a terminal, progress replaces itself on one live line; elsewhere (CI logs, a file) a plain line
is printed at every tenth of the step. Dagster's own event lines (``DEBUG … STEP_OUTPUT``,
``Materialized value …``) are not shown (``--verbose`` brings them back); messages the assets log
(``context.log``) are, one line each (at most :data:`MESSAGE_WIDTH` characters).

A step reports progress of its own by logging :func:`progress_message` (e.g. the price load's
validation chunks): ``progress: 3/12 price rows validated (chunks)``.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from dagster import DagsterEventType, EventLogEntry

#: Longest asset log message shown by default (longer ones are cut, ``--verbose`` has them whole).
MESSAGE_WIDTH = 320

#: Housekeeping messages dagster-dbt logs in every run (shown with ``--verbose`` only).
QUIET_MESSAGES = (
    re.compile(r"^A dbt subsetted execution is not being performed"),
    re.compile(r"^Copying `.*partial_parse"),
    re.compile(r"^(Running|Finished) dbt command"),
)

#: A dbt node line: ``12 of 295 START test unique_x ...`` / ``12 of 295 PASS unique_x ...``.
DBT_NODE_LINE = re.compile(r"^\s*(\d+) of (\d+) (START|OK|PASS|WARN|FAIL|ERROR|SKIP|NO-OP|SUCCESS)\b\s*(.*)$")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PROGRESS_MESSAGE = re.compile(r"^progress: (\d+)/(\d+) (.+)$")

#: Pairs of materialization metadata keys that say how many rows a load wrote and rejected.
LOAD_COUNTS = (("loaded", "rejected"), ("rows_loaded", "rows_rejected"), ("loaded_facts", "rejected_facts"))
DBT_STATUS_WORDS = {"OK": "built", "PASS": "passed", "WARN": "warned", "FAIL": "failed", "ERROR": "errored",
                    "SKIP": "skipped", "NO-OP": "no-op", "SUCCESS": "succeeded"}  # fmt: skip


def progress_message(done: int, total: int, what: str) -> str:
    """The message a step logs (``context.log.info``) to report ``done`` of ``total`` units of
    ``what`` (e.g. ``progress_message(3, 12, "price rows validated (chunks)")``)."""
    return f"progress: {done}/{total} {what}"


@dataclass
class _Step:
    started: float
    materializations: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    dbt_status: Counter = field(default_factory=Counter)
    dbt_done: int = 0
    dbt_tail: list[str] = field(default_factory=list)
    shown_tenth: int = 0


def _value(metadata: Mapping[str, Any], key: str) -> Any:
    value = metadata.get(key)
    return getattr(value, "value", value)


def step_summary(materializations: list[tuple[str, Mapping[str, Any]]], checks: list[tuple[str, bool, str]]) -> str:
    """What a step wrote, in words: the rows loaded and rejected of a load (metadata ``loaded`` /
    ``rejected`` and similar pairs, :data:`LOAD_COUNTS`), else the rows (``dagster/row_count``) of
    its one asset, or ``<n> assets, <rows> rows`` of several; then its checks (``2 checks passed``,
    ``check daily_completeness FAILED (WARN)``). ``materializations``: (asset key, metadata);
    ``checks``: (check name, passed, severity name)."""
    parts = []
    loads = []
    for _, metadata in materializations:
        for loaded, rejected in LOAD_COUNTS:
            if isinstance(_value(metadata, loaded), int) and isinstance(_value(metadata, rejected), int):
                loads.append(f"{_value(metadata, loaded):,} rows loaded, {_value(metadata, rejected):,} rejected")
                break
    rows = [_value(m, "dagster/row_count") for _, m in materializations]
    rows = [n for n in rows if isinstance(n, int)]
    if len(materializations) > 1:
        parts.append(f"{len(materializations)} assets" + (f", {sum(rows):,} rows" if rows and not loads else ""))
    parts += loads
    if len(materializations) == 1 and not loads and rows:
        parts.append(f"{rows[0]:,} rows")
    passed = sum(1 for _, ok, _ in checks if ok)
    failed = [f"check {name} FAILED ({severity})" for name, ok, severity in checks if not ok]
    if passed:
        parts.append(f"{passed} check{'s' if passed != 1 else ''} passed")
    parts += failed
    return "; ".join(parts) if parts else "done"


class BuildProgress:
    """Prints a build's progress to ``out`` (see the module docstring).

    ``live``: rewrite one progress line in place (a terminal); else plain lines. ``verbose``: Dagster
    prints its own event lines and dbt its output, so only the step lines are added here.
    ``clock``: seconds (monotonic), injectable for tests."""

    def __init__(
        self, out: TextIO, *, live: bool = False, verbose: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.out = out
        self.live = live
        self.verbose = verbose
        self.clock = clock
        self.start = clock()
        self.steps: dict[str, _Step] = {}
        self.current: str | None = None
        self.runs: dict[str, float] = {}
        self._live_text = ""
        self._broken = False

    # ------------------------------------------------------------------ output

    def elapsed(self) -> float:
        """Seconds since the build started."""
        return self.clock() - self.start

    def note(self, text: str) -> None:
        """Print ``[ elapsed s] text`` on a line of its own (above the live progress line)."""
        line = f"[{self.elapsed():6.1f} s] {text}"
        if self._live_text:
            self.out.write("\r\x1b[K" + line + "\n" + self._live_text)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def _progress(self, step: _Step, done: int, total: int, text: str) -> None:
        if self.live:
            width = 20
            filled = width * done // max(total, 1)
            self._live_text = f"[{self.elapsed():6.1f} s] [{'#' * filled}{'.' * (width - filled)}] {text}"
            self.out.write("\r\x1b[K" + self._live_text)
            self.out.flush()
            return
        tenth = 10 * min(done, total) // max(total, 1)
        if tenth > step.shown_tenth:
            step.shown_tenth = tenth
            self.note(text)

    def _end_live(self) -> None:
        if self._live_text:
            self.out.write("\r\x1b[K")
            self._live_text = ""

    # ------------------------------------------------------------------ Dagster events

    def on_event(self, entry: EventLogEntry) -> None:
        """Handle one stored event of a run (``DagsterInstance.add_event_listener`` callback). A
        failure here is reported once and then ignored: progress output never fails a build."""
        if self._broken:
            return
        try:
            self._on_event(entry)
        except Exception as error:  # noqa: BLE001 - the build goes on without progress lines
            self._broken = True
            self.note(f"(progress output stopped: {type(error).__name__}: {error})")

    def _on_event(self, entry: EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            self._on_message(entry)
            return
        kind = event.event_type
        step_key = entry.step_key
        if kind == DagsterEventType.RUN_START:
            self.runs[entry.run_id] = self.clock()
            self.note(f"{entry.job_name} started (run {entry.run_id[:8]})")
        elif kind == DagsterEventType.STEP_START:
            self.step_started(step_key)
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            self._step(step_key).materializations.append(
                (materialization.asset_key.to_user_string(), materialization.metadata)
            )
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            severity = getattr(evaluation.severity, "value", str(evaluation.severity))
            self._step(step_key).checks.append((evaluation.check_name, evaluation.passed, severity))
        elif kind == DagsterEventType.STEP_SUCCESS:
            self.step_ended(step_key, None)
        elif kind == DagsterEventType.STEP_FAILURE:
            error = event.event_specific_data.error
            cause = (error.cause or error) if error else None
            message = cause.message.strip().splitlines()[0] if cause and cause.message.strip() else "failed"
            self.step_ended(step_key, message)
        elif kind == DagsterEventType.STEP_SKIPPED:
            self.note(f"{step_key} skipped (an upstream step failed or a blocking check did not pass)")
        elif kind in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            self._end_live()
            took = self.clock() - self.runs.get(entry.run_id, self.start)
            outcome = "succeeded" if kind == DagsterEventType.RUN_SUCCESS else "FAILED"
            self.note(f"{entry.job_name} {outcome} in {took:.1f} s")

    def _step(self, step_key: str | None) -> _Step:
        if step_key not in self.steps:
            self.steps[step_key] = _Step(started=self.clock())
        return self.steps[step_key]

    def step_started(self, step_key: str) -> None:
        """A step started: print it; what is printed from now on belongs to it."""
        self.steps[step_key] = _Step(started=self.clock())
        self.current = step_key
        self.note(f"{step_key} started")

    def step_ended(self, step_key: str, failure: str | None) -> None:
        """A step ended (``failure``: its error's first line, None when it succeeded): print what it
        wrote and how long it took; after a failure, dbt's last lines; after dbt completed with
        warnings, dbt's list of them."""
        step = self._step(step_key)
        self._end_live()
        took = self.clock() - step.started
        summary = step_summary(step.materializations, step.checks)
        if step.dbt_status:
            words = ", ".join(f"{count} {DBT_STATUS_WORDS.get(status, status.lower())}"
                              for status, count in step.dbt_status.most_common())  # fmt: skip
            summary = f"{summary}; dbt nodes: {words}"
        if failure is None:
            self.note(f"{step_key}: {summary} ({took:.1f} s)")
        else:
            self.note(f"{step_key} FAILED after {took:.1f} s: {failure}")
            if not self.verbose:
                for line in step.dbt_tail[-40:]:
                    self.out.write(f"    {line}\n")
        if not self.verbose and failure is None and any(line.startswith("Completed with") for line in step.dbt_tail):
            start = next(i for i, line in enumerate(step.dbt_tail) if line.startswith("Completed with"))
            for line in step.dbt_tail[start:]:
                self.out.write(f"    {line}\n")
        self.current = None if self.current == step_key else self.current

    def _on_message(self, entry: EventLogEntry) -> None:
        message = (entry.user_message or "").strip()
        found = PROGRESS_MESSAGE.match(message)
        if found:
            done, total = int(found[1]), int(found[2])
            self._progress(self._step(entry.step_key), done, total, f"{entry.step_key}: {done} of {total} {found[3]}")
            return
        if entry.level < logging.INFO or self.verbose or not message:
            return
        if any(pattern.match(message) for pattern in QUIET_MESSAGES):
            return
        first = message.splitlines()[0]
        if len(first) > MESSAGE_WIDTH:
            first = first[: MESSAGE_WIDTH - 1] + "…"
        self.note(f"  {entry.step_key or entry.job_name}: {first}")

    # ------------------------------------------------------------------ dbt output

    def on_output_line(self, line: str) -> None:
        """One line the running step printed (dbt's output): a node line advances the step's
        progress (a FAIL, ERROR or WARN is shown at once); the others are kept for the step's end
        (shown when it fails or dbt completed with warnings). Outside a step, or with
        ``verbose``, the line is printed as it is."""
        text = ANSI_ESCAPE.sub("", line).rstrip()
        step = self.steps.get(self.current) if self.current else None
        if self.verbose or step is None:
            self._end_live()
            self.out.write(line + "\n")
            self.out.flush()
            return
        found = DBT_NODE_LINE.match(text)
        if found and "hook:" not in text:
            total, status, rest = int(found[2]), found[3], found[4]
            if status == "START":
                return
            step.dbt_done += 1
            step.dbt_status[status] += 1
            if status in ("FAIL", "ERROR", "WARN"):
                self.note(f"  dbt {status} {rest.split(' [')[0].strip(' .')}")
            self._progress(
                step, step.dbt_done, total, f"{self.current}: {step.dbt_done} of {total} dbt models and tests done"
            )
            return
        if text:
            step.dbt_tail.append(text)
            del step.dbt_tail[:-200]


class LineSink(io.TextIOBase):
    """A text stream that hands each complete line written to it to ``on_line`` (for
    ``contextlib.redirect_stdout`` around a run: dagster-dbt prints dbt's output to ``sys.stdout``)."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        super().__init__()
        self.on_line = on_line
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self.on_line(line)
        return len(text)

    def flush(self) -> None:
        """Lines are handed on as they complete; a partial line waits for its end."""

    def close_pending(self) -> None:
        """Hand on a last line written without its newline."""
        if self._pending:
            line, self._pending = self._pending, ""
            self.on_line(line)
