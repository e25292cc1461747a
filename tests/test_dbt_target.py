"""The dbt target folder: one writer at a time, no parse when the manifest is fresh, and a folder
of one's own through ``DBT_TARGET_PATH``.

Processes that load the code location (the Dagster code server, each run worker, test workers,
``python -m pipelines.build``) share a target folder unless ``DBT_TARGET_PATH`` separates them;
these tests start real processes against a small project folder of their own (and, for the code
location itself, the real dbt project with a target folder in ``tmp_path``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.conftest import REPO_ROOT

#: A process that waits for the file ``go``, then runs one parse of ``project`` whose dbt step
#: writes a 20-piece manifest slowly (so another process could catch it half-written), logging
#: when it starts and ends.
PARSER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    from dagster_dbt import DbtProject

    from pipelines.lib.resources import PARSE_ARTIFACTS, parse_atomically, parse_if_stale, project_target_dir

    mode, project_dir, log, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])


    class SlowParse:
        def __init__(self, scratch):
            self.scratch = scratch

        def wait(self):
            with log.open("a") as out:
                out.write(f"start {os.getpid()} {time.time()}\\n")
            self.scratch.mkdir(parents=True)
            with (self.scratch / "manifest.json").open("w") as out:
                out.write('{"nodes": [')
                for i in range(20):
                    out.write(("," if i else "") + json.dumps("x" * 2000))
                    out.flush()
                    time.sleep(0.03)
                out.write(f'], "parsed_by": {os.getpid()}}}')
            (self.scratch / "partial_parse.msgpack").write_bytes(b"state")
            with log.open("a") as out:
                out.write(f"end {os.getpid()} {time.time()}\\n")
            return self


    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    while not go.exists():
        time.sleep(0.01)
    if mode == "if-stale":
        print(parse_if_stale(project, SlowParse))
    else:
        parse_atomically(SlowParse, project_target_dir(project), PARSE_ARTIFACTS)
        print(True)
    """
)


def small_project(folder: Path) -> Path:
    """A dbt project folder with one model (enough for ``DbtProject`` and the staleness check)."""
    (folder / "models").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text("name: small\nversion: '1.0.0'\nprofile: small\n")
    (folder / "models" / "one.sql").write_text("select 1 as one\n")
    old = time.time() - 3600
    for path in (folder / "dbt_project.yml", folder / "models" / "one.sql"):
        os.utime(path, (old, old))
    return folder


def run_two_parsers(mode: str, project: Path, tmp_path: Path) -> tuple[list[str], list[tuple[str, int, float]]]:
    """Start two :data:`PARSER` processes together; while they run, read ``manifest.json`` as
    another process would and check every read is whole JSON. Returns their outputs and log."""
    script, log, go = tmp_path / "parser.py", tmp_path / "parses.log", tmp_path / "go"
    script.write_text(PARSER)
    manifest = project / "target" / "manifest.json"
    procs = [
        subprocess.Popen([sys.executable, str(script), mode, str(project), str(log), str(go)], cwd=REPO_ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    time.sleep(0.5)
    go.touch()
    reads, deadline = 0, time.monotonic() + 120
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        if manifest.exists():
            json.loads(manifest.read_text())  # a half-written manifest would not parse
            reads += 1
        time.sleep(0.01)
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outputs.append(out.strip())
    entries = [(kind, int(pid), float(at)) for kind, pid, at in (line.split() for line in log.read_text().splitlines())]
    return outputs, entries


def test_two_processes_finding_a_stale_manifest_parse_once(tmp_path):
    """Both processes find no manifest; the second waits for the first's parse under the
    folder's lock, finds the manifest fresh and does not parse: one writer, one whole manifest."""
    project = small_project(tmp_path / "project")
    outputs, log = run_two_parsers("if-stale", project, tmp_path)
    assert sorted(outputs) == ["False", "True"]
    assert [kind for kind, _, _ in log] == ["start", "end"]
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    assert len(manifest["nodes"]) == 20 and manifest["parsed_by"] == log[0][1]
    assert sorted(p.name for p in (project / "target").iterdir()) == ["manifest.json", "partial_parse.msgpack"]


def test_two_forced_parses_of_one_folder_never_overlap(tmp_path):
    """``parse_atomically`` itself holds the lock: two processes that both parse take turns, and
    the manifest left is one of them, whole."""
    project = small_project(tmp_path / "project")
    outputs, log = run_two_parsers("atomically", project, tmp_path)
    assert outputs == ["True", "True"]
    assert [kind for kind, _, _ in log] == ["start", "end", "start", "end"]
    first, second = log[:2], log[2:]
    assert first[0][1] == first[1][1] and second[0][1] == second[1][1] != first[0][1]
    assert first[1][2] <= second[0][2]  # the second started after the first had ended
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    assert manifest["parsed_by"] == second[0][1]
    assert sorted(p.name for p in (project / "target").iterdir()) == ["manifest.json", "partial_parse.msgpack"]


def test_parse_if_stale_parses_only_after_a_project_file_changed(tmp_path):
    from dagster_dbt import DbtProject

    from pipelines.lib.resources import parse_if_stale

    project_dir = small_project(tmp_path / "project")
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    calls = []

    class Parse:
        def __init__(self, scratch):
            calls.append(scratch)
            self.scratch = scratch

        def wait(self):
            self.scratch.mkdir(parents=True)
            (self.scratch / "manifest.json").write_text(json.dumps({"parse": len(calls)}))
            (self.scratch / "partial_parse.msgpack").write_bytes(b"state")

    assert parse_if_stale(project, Parse, ("manifest.json",)) is True
    assert parse_if_stale(project, Parse, ("manifest.json",)) is False
    assert len(calls) == 1
    assert not (project_dir / "target" / "partial_parse.msgpack").exists()  # only the artifacts asked for
    (project_dir / "models" / "two.sql").write_text("select 2 as two\n")  # newer than the manifest
    assert parse_if_stale(project, Parse, ("manifest.json",)) is True
    assert json.loads(project.manifest_path.read_text()) == {"parse": 2}


def test_dbt_target_path_comes_from_dbt_target_path(monkeypatch, tmp_path):
    from domain.settings import Settings
    from pipelines.lib.resources import build_resources, dbt_target_path

    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    assert dbt_target_path() == "target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "own-target"))
    dbt = build_resources(Settings.from_values(warehouse_path=tmp_path / "w.duckdb"), environ={})["dbt"]
    assert dbt.project().manifest_path == tmp_path / "own-target" / "manifest.json"
    monkeypatch.setenv("DBT_TARGET_PATH", "target/serve")
    assert dbt.project().manifest_path == Path(dbt.project_dir) / "target" / "serve" / "manifest.json"


def test_the_build_parse_is_skipped_until_a_model_changes(monkeypatch, tmp_path):
    """``DbtResource.parse_if_needed``: parses once into the target folder, then not again until
    a project file is newer than the parse (or the configuration changes)."""
    from domain.settings import Settings
    from pipelines.lib.resources import DbtResource, build_resources

    project_dir = small_project(tmp_path / "project")
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    parses = []

    class Parse:
        def __init__(self, scratch):
            self.scratch = scratch

        def wait(self):
            parses.append(self.scratch)
            self.scratch.mkdir(parents=True)
            (self.scratch / "manifest.json").write_text("{}")
            (self.scratch / "partial_parse.msgpack").write_bytes(b"state")

    monkeypatch.setattr(DbtResource, "cli", lambda self, args, **kwargs: Parse(kwargs["target_path"]))
    settings = Settings.from_values(warehouse_path=tmp_path / "w.duckdb", dbt_project_dir=project_dir)
    dbt = build_resources(settings, environ={})["dbt"]
    assert dbt.parse_is_current() is False
    assert dbt.parse_if_needed() is True
    assert dbt.parse_is_current() is True
    assert dbt.parse_if_needed() is False
    other = build_resources(settings.model_copy(update={"risk_free_rate": 0.02}), environ={})["dbt"]
    assert other.parse_if_needed() is True  # other --vars
    assert dbt.parse_if_needed() is True  # and back
    (project_dir / "models" / "one.sql").write_text("select 11 as one\n")
    assert dbt.parse_is_current() is False
    assert dbt.parse_if_needed() is True
    assert dbt.parse_if_needed() is False
    assert len(parses) == 4
    assert sorted(p.name for p in (tmp_path / "target").iterdir()) == [
        "manifest.json", "parse_inputs.json", "partial_parse.msgpack",
    ]  # fmt: skip


def load_code_location(target: Path) -> subprocess.CompletedProcess:
    """Import the dbt assets in a fresh process as ``dagster dev``'s code server does
    (``DAGSTER_IS_DEV_CLI`` set), with ``target`` as the dbt target folder."""
    env = {**os.environ, "DAGSTER_IS_DEV_CLI": "1", "DBT_TARGET_PATH": str(target)}
    code = "import pipelines.defs.dbt.assets as a; print(a.PROJECT.manifest_path)"
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False,
                          timeout=300)  # fmt: skip


def test_the_code_location_load_parses_only_a_stale_manifest(tmp_path):
    """Under ``dagster dev`` a load with a fresh manifest does not parse (the manifest file is
    the same file afterwards); with a manifest older than the models it parses once, publishing
    the manifest only (not the partial-parse state the build's runs start from)."""
    from pipelines.defs.dbt.assets import PROJECT

    target = tmp_path / "target"
    target.mkdir()
    manifest = target / "manifest.json"
    shutil.copyfile(PROJECT.manifest_path, manifest)  # dated now: newer than every project file
    before = manifest.stat()
    loaded = load_code_location(target)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == str(manifest)
    after = manifest.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in target.iterdir()] == ["manifest.json"]

    os.utime(manifest, (946684800, 946684800))  # 2000-01-01: older than the models
    loaded = load_code_location(target)
    assert loaded.returncode == 0, loaded.stderr
    assert manifest.stat().st_ino != before.st_ino and manifest.stat().st_mtime > 946684800
    nodes = json.loads(manifest.read_text())["nodes"]
    assert "model.stock_warehouse.stg_prices__daily" in nodes
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json", "semantic_manifest.json"]


def test_the_build_warm_up_loads_the_steps_modules_but_not_the_dbt_manifest(tmp_path):
    """``pipelines.build.warm_up_steps`` (run in a thread while ``dbt parse`` runs): afterwards
    Great Expectations' context and the exchange calendars of the price feeds are cached, and the
    dbt assets (which read, or parse, the manifest) were not imported, so the warm-up never parses
    beside the build's own parse. In a fresh process with an empty dbt target folder."""
    code = textwrap.dedent(
        """
        import sys, threading
        from domain.calendar import exchange_calendar
        from pipelines.build import warm_up_steps
        from pipelines.lib.expectations import context

        thread = threading.Thread(target=warm_up_steps, args=(["us", "krx"],))
        thread.start()
        thread.join()
        print(context.cache_info().currsize, exchange_calendar.cache_info().currsize,
              "pipelines.defs.dbt.assets" in sys.modules, "great_expectations" in sys.modules)
        """
    )
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "target")}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "2", "False", "True"]
    assert not (tmp_path / "target").exists()
