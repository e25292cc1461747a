"""``make install`` recovers from an interrupted install (a venv left without pip)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_venv_step_recreates_a_venv_without_pip(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)  # as if ensurepip was cut off
    broken = subprocess.run([venv / "bin" / "python", "-m", "pip", "--version"], capture_output=True)
    assert broken.returncode != 0
    made = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT), "venv", f"VENV={venv}", f"PYTHON={sys.executable}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "has no working pip (an interrupted install?): recreating it" in made.stdout
    subprocess.run([venv / "bin" / "python", "-m", "pip", "--version"], check=True, capture_output=True)
    again = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT), "venv", f"VENV={venv}"], capture_output=True, text=True
    )
    assert again.returncode == 0 and again.stdout == ""  # a working venv is left alone


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_install_runs_the_venv_step_before_pip(tmp_path):
    """``make install`` goes through the venv step (which checks pip) before it uses pip; a dry
    run (``-n``, passed on to the sub-make) changes nothing."""
    venv = tmp_path / "venv"
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(REPO_ROOT), "install", f"VENV={venv}"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    check = next(i for i, line in enumerate(lines) if f"{venv}/bin/python -m pip --version" in line)
    recreate = next(i for i, line in enumerate(lines) if f"-m venv --clear {venv}" in line)
    first_pip_install = next(i for i, line in enumerate(lines) if "-m pip install" in line)
    assert check < recreate < first_pip_install
    assert not venv.exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_serve_runs_the_procfile_under_honcho_with_its_settings():
    """``make serve`` starts Procfile's processes under honcho (no shell ``trap``/``kill 0``, which
    signalled itself in a loop), passes the ports on, gives ``dagster dev`` time to stop its code
    server before honcho kills what is left, and serves from the dbt target folder of its own."""
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(REPO_ROOT), "serve", "DAGSTER_PORT=4001",
         "STREAMLIT_PORT=4002"],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    recipe = dry.stdout.replace("\\\n", " ")
    assert "trap" not in recipe and "kill 0" not in recipe
    assert "DAGSTER_PORT=4001 STREAMLIT_PORT=4002 DBT_TARGET_PATH=target/serve" in recipe
    assert "honcho.manager.KILL_WAIT = 20;" in recipe
    assert recipe.rstrip().endswith("start -f Procfile")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_demo_builds_into_the_served_dbt_target_folder():
    """``make demo``'s build parses into the folder the served code location and its runs read
    (their partial-parse state), then serves."""
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(REPO_ROOT), "demo", "SERVE_DBT_TARGET_PATH=target/x"],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = dry.stdout.splitlines()
    build = next(i for i, line in enumerate(lines) if "-m pipelines.build --if-missing" in line)
    assert lines[build].startswith("DBT_TARGET_PATH=target/x ")
    assert any("serve" in line and "make" in line for line in lines[build + 1 :])
