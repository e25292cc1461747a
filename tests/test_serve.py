"""``make serve``: the Dagster UI and the Streamlit app start together and stop together, and
neither sends usage statistics or shows its promotional pop-ups.

The process test is integration-marked: it starts the real ``dagster dev`` (webserver, daemon,
code server) and Streamlit on free ports, with a Dagster instance and product paths of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

# --------------------------------------------------------------------------- telemetry settings


def test_streamlit_sends_no_usage_statistics_and_shows_no_developer_menu():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["toolbarMode"] == "minimal"
    # the names are Streamlit's own options (a misspelt key would be ignored silently)
    from streamlit import config as streamlit_config

    assert {"browser.gatherUsageStats", "client.toolbarMode", "runner.magicEnabled"} <= set(
        streamlit_config._config_options_template
    )


def test_streamlit_magic_is_off_and_no_page_relies_on_it():
    """Magic is off (``runner.magicEnabled``: pages are compiled from source, not through
    ``ast.parse``), so a bare expression or string statement would draw nothing: the dashboards
    have none (other than docstrings)."""
    import ast

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["magicEnabled"] is False
    bare = []
    for path in sorted((REPO_ROOT / "dashboards").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            body = getattr(node, "body", None)
            for i, statement in enumerate(body if isinstance(body, list) else []):
                if not isinstance(statement, ast.Expr) or isinstance(statement.value, (ast.Call, ast.Await)):
                    continue
                docstring = i == 0 and isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                if not (docstring and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)):
                    bare.append(f"{path.relative_to(REPO_ROOT)}:{statement.lineno}")
    assert bare == []


def test_streamlit_reads_the_project_config(monkeypatch):
    """``streamlit run`` from the repository root picks the file up (it reads ./.streamlit/)."""
    from streamlit import config as streamlit_config

    monkeypatch.chdir(REPO_ROOT)
    streamlit_config.get_config_options(force_reparse=True)
    try:
        assert streamlit_config.get_option("browser.gatherUsageStats") is False
        assert streamlit_config.get_option("client.toolbarMode") == "minimal"
        assert streamlit_config.get_option("runner.magicEnabled") is False
    finally:
        monkeypatch.undo()
        streamlit_config.get_config_options(force_reparse=True)


def test_local_dagster_instance_has_telemetry_and_the_community_pop_up_off(tmp_path):
    from dagster import DagsterInstance

    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert instance.telemetry_enabled is False
        assert instance.nux_enabled is False
        assert instance.run_monitoring_enabled is True  # the rest of the file still applies
    finally:
        instance.dispose()


def test_deployed_dagster_instance_config_is_valid_with_telemetry_and_pop_up_off(tmp_path):
    """``deploy/dagster.yaml`` passes Dagster's instance schema (PostgreSQL storage is not
    connected to: the schema check alone) and turns both off."""
    from dagster._core.instance.config import dagster_instance_config

    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["telemetry"] == {"enabled": False}
    assert config["nux"] == {"enabled": False}
    raw = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
    assert raw["storage"]["postgres"]["postgres_db"]["hostname"] == {"env": "DAGSTER_PG_HOST"}


# --------------------------------------------------------------------------- the Procfile


def test_procfile_runs_dagster_dev_and_streamlit_on_configurable_ports():
    lines = dict(
        line.split(":", 1) for line in (REPO_ROOT / "Procfile").read_text().splitlines() if line and line[0] != "#"
    )
    assert set(lines) == {"dagster", "streamlit"}
    assert "exec dagster dev -w workspace.yaml" in lines["dagster"] and "${DAGSTER_PORT:-3000}" in lines["dagster"]
    assert "exec streamlit run dashboards/app.py" in lines["streamlit"]
    assert "${STREAMLIT_PORT:-8501}" in lines["streamlit"]


# --------------------------------------------------------------------------- make serve: start, stop

#: Seconds the processes may take to answer on their ports (a cold ``dagster dev`` on two busy
#: cores, the code location's first dbt parse included).
START_TIMEOUT = 240
#: Seconds from SIGTERM to make until make and every process it started are gone (the
#: Makefile's SERVE_STOP_SECONDS, 20, and a margin).
STOP_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port: int) -> bool:
    """Whether an HTTP server answers on 127.0.0.1:``port``."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def marked_processes(marker: str) -> dict[int, str]:
    """``{pid: command line}`` of the live (not zombie) processes whose environment holds
    ``marker``: everything ``make serve`` started, however deep, even once re-parented."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if state != "Z":
            found[int(entry.name)] = command
    return found


@pytest.mark.integration
@pytest.mark.skipif(
    shutil.which("make") is None or not Path("/proc/self/environ").exists(), reason="needs make and /proc"
)
@pytest.mark.parametrize("stop", ["sigterm-to-make", "ctrl-c"])
def test_stopping_make_serve_stops_every_process_once(tmp_path, stop):
    """``make serve`` on free ports, with an instance and product paths of its own; once both
    ports answer and the daemon and code server run, SIGTERM to make (or SIGINT to its process
    group, as Ctrl-C in a terminal): within STOP_TIMEOUT s make exits and no process it started
    (dagster dev, webserver, daemon, code server, streamlit) is left, and the stop is announced
    once."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    (tmp_path / "portfolios").mkdir()
    marker = f"SERVE_TEST_MARKER={tmp_path.name}-{os.getpid()}"
    dagster_port, streamlit_port = free_port(), free_port()
    env = {
        **os.environ,
        marker.split("=")[0]: marker.split("=")[1],
        # the daemon's sensors see an empty world of their own, never the developer's data
        "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "WAREHOUSE_SNAPSHOT_PATH": str(tmp_path / "warehouse.snapshot.duckdb"),
        "PORTFOLIOS_DIR": str(tmp_path / "portfolios"),
        "ALERT_RULES_FILE": str(tmp_path / "rules.yml"),
        "RAW_RESPONSES_DIR": str(tmp_path / "raw"),
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-C", str(REPO_ROOT), "serve", f"DAGSTER_HOME={home}",
             f"DAGSTER_PORT={dagster_port}", f"STREAMLIT_PORT={streamlit_port}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        wanted = ("dagster dev", "dagster_webserver", "dagster._daemon run", "dagster api grpc", "streamlit run")
        while time.monotonic() < deadline and make.poll() is None:
            running = " | ".join(marked_processes(marker.split("=")[1]).values())
            if answers(dagster_port) and answers(streamlit_port) and all(name in running for name in wanted):
                break
            time.sleep(1)
        started = marked_processes(marker.split("=")[1])
        assert make.poll() is None, log.read_text()[-3000:]
        assert answers(dagster_port) and answers(streamlit_port), log.read_text()[-3000:]
        assert all(any(name in command for command in started.values()) for name in wanted), started

        stop = time.monotonic()
        if stop == "ctrl-c":
            os.killpg(make.pid, signal.SIGINT)  # the terminal's foreground group: make and honcho
        else:
            make.send_signal(signal.SIGTERM)
        make.wait(timeout=STOP_TIMEOUT)
        left = marked_processes(marker.split("=")[1])
        while left and time.monotonic() - stop < STOP_TIMEOUT:
            time.sleep(0.5)
            left = marked_processes(marker.split("=")[1])
        assert not left, f"still running {time.monotonic() - stop:.0f} s after SIGTERM: {left}"
        assert not answers(dagster_port) and not answers(streamlit_port)
    finally:
        for pid in marked_processes(marker.split("=")[1]):  # a failed test leaves nothing behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if make.poll() is None:
            make.kill()
            make.wait()
    output = log.read_text()
    received = "SIGINT received" if stop == "ctrl-c" else "SIGTERM received"
    assert output.count(received) == 1, output[-3000:]  # honcho, once
    # dagster dev got it (as SIGTERM: it maps SIGTERM to SIGINT) and stopped its services itself
    assert "KeyboardInterrupt received" in output and "Shutting down Dagster services" in output
    assert output.count("Stopping") <= 3, output[-3000:]
    assert "Segmentation fault" not in output
