"""Browser helpers and fixtures for the walk through the running app (tests/test_browser_walk.py).

The app runs as a user starts it, ``streamlit run dashboards/app.py`` in a subprocess, reading the
session's built DuckDB snapshot (fixture ``built_warehouse``), with its user-data folders
(``PORTFOLIOS_DIR``, ``ALERT_RULES_FILE``) copied into a temporary folder so the walk never writes
a tracked file. Playwright drives the system Chromium (``/usr/bin/chromium``, Debian package);
browsers are never downloaded.

Without Chromium or the ``playwright`` package the fixtures skip with the reason, except under
``CI=true`` where they fail. Screenshots go to ``BROWSER_SCREENSHOTS_DIR`` when it is set, else to
a pytest temporary folder (its path is printed in the test report).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from domain.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_SCRIPT = "dashboards/app.py"
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS_ENV = "BROWSER_SCREENSHOTS_DIR"
SERVER_START_SECONDS = 90
#: Longest time one page may take to render (the first run of a page opens the snapshot).
RUN_TIMEOUT_MS = 60_000
#: Viewport of the walk; screenshots grow it to the page's full height.
VIEWPORT = {"width": 1440, "height": 900}
MAX_SCREENSHOT_HEIGHT = 12_000

# Selectors of the Streamlit frontend (data-testid attributes of streamlit 1.67).
APP = '[data-testid="stApp"]'
MAIN = '[data-testid="stMain"]'
MAIN_BLOCK = '[data-testid="stMainBlockContainer"]'
STATUS_WIDGET = '[data-testid="stStatusWidget"]'
EXCEPTION = '[data-testid="stException"]'
STALE = '[data-stale="true"]'
DATAFRAME = '[data-testid="stDataFrame"]'
PLOTLY = '[data-testid="stPlotlyChart"]'
ALERT = '[data-testid="stAlert"]'
SIDEBAR_CONTENT = '[data-testid="stSidebarContent"]'
SKELETON = '[data-testid="stSkeleton"], [data-testid="stSkeletonElement"], [data-testid="stAppSkeleton"]'


# --------------------------------------------------------------------------- availability


def chromium_path() -> Path | None:
    """The system Chromium: ``/usr/bin/chromium``, else ``chromium`` on ``PATH``; None if neither."""
    if SYSTEM_CHROMIUM.is_file() and os.access(SYSTEM_CHROMIUM, os.X_OK):
        return SYSTEM_CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def missing_browser_reason() -> str | None:
    """Why the walk cannot run here (no Chromium, no ``playwright``), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return f"the Python package playwright is not importable ({error}): install the dev dependencies"
    if chromium_path() is None:
        return f"no Chromium at {SYSTEM_CHROMIUM} nor on PATH: install the Debian package chromium"
    return None


def require_browser() -> Path:
    """The Chromium to drive; skips the test when there is none (fails under ``CI=true``)."""
    reason = missing_browser_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires the browser walk to run, but {reason}", pytrace=False)
        pytest.skip(f"browser walk skipped: {reason}")
    path = chromium_path()
    assert path is not None
    return path


# --------------------------------------------------------------------------- the app server


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_environment(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The app process's environment: ``base`` (default: this process's) without any of the
    product's variables, plus those that point the app at ``settings`` (warehouse, snapshot,
    user-data folders)."""
    base = os.environ if base is None else base
    product = set(Settings.environment_variables())
    env = {name: value for name, value in base.items() if name.upper() not in product}
    env.update(
        {
            "WAREHOUSE_PATH": str(settings.warehouse_path),
            "WAREHOUSE_SNAPSHOT_PATH": str(settings.snapshot_path),
            "PORTFOLIOS_DIR": str(settings.portfolios_dir),
            "ALERT_RULES_FILE": str(settings.alert_rules_file),
            "STRATEGIES_DIR": str(settings.strategies_dir),
            "RAW_RESPONSES_DIR": str(settings.raw_responses_dir),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), base.get("PYTHONPATH")])),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        }
    )
    return env


def user_data_copy(settings: Settings, folder: Path) -> Settings:
    """``settings`` with private copies of the user-data the app may write: the portfolio folder,
    the strategy files (an empty folder when there are none) and the alert rules (the rules file,
    else its tracked example ``rules.example.yml``; neither: no rules), copied into ``folder``."""
    portfolios = folder / "portfolios"
    shutil.copytree(settings.portfolios_dir, portfolios)
    strategies = folder / "strategies"
    strategies.mkdir(parents=True)
    for strategy in sorted(settings.strategies_dir.glob("*.yml")) if settings.strategies_dir.is_dir() else []:
        shutil.copyfile(strategy, strategies / strategy.name)
    rules = folder / "alerts" / settings.alert_rules_file.name
    rules.parent.mkdir(parents=True)
    shipped = settings.alert_rules_file
    example = shipped.with_name(f"{shipped.stem}.example{shipped.suffix}")  # the tracked example
    for source in (shipped, example):
        if source.is_file():
            shutil.copyfile(source, rules)
            break
    return settings.with_values(portfolios_dir=portfolios, alert_rules_file=rules, raw_responses_dir=folder / "raw",
                                strategies_dir=strategies)  # fmt: skip


@dataclass
class AppServer:
    """A running ``streamlit run`` process: its base URL and its log file."""

    url: str
    process: subprocess.Popen
    log: Path
    settings: Settings
    _stopped: bool = field(default=False, repr=False)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's output (stdout and stderr)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate the process, then kill it if it has not ended within 10 s."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start_app(settings: Settings, folder: Path) -> AppServer:
    """Start ``streamlit run dashboards/app.py`` on a free port with ``settings`` in its
    environment and wait until ``/_stcore/health`` answers ``ok``.

    Raises:
        RuntimeError: the process ended, or was not healthy within ``SERVER_START_SECONDS``
            (the message holds the end of its log).
    """
    port = free_port()
    log = folder / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", APP_SCRIPT,
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=app_environment(settings), stdout=output, stderr=subprocess.STDOUT
        )
    server = AppServer(url=f"http://127.0.0.1:{port}", process=process, log=log, settings=settings)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}:\n{server.log_tail()}")
        if _healthy(server.url):
            return server
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"streamlit was not healthy within {SERVER_START_SECONDS} s:\n{server.log_tail()}")


# --------------------------------------------------------------------------- pages


def wait_for_app(page, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until the app is connected, its script has finished running (no status widget, no
    stale element) and the main block is visible."""
    page.wait_for_selector(f"{APP}[data-test-connection-state='CONNECTED']", state="attached", timeout=timeout_ms)
    page.wait_for_selector(f"{APP}[data-test-script-state='notRunning']", state="attached", timeout=timeout_ms)
    page.wait_for_selector(STATUS_WIDGET, state="detached", timeout=timeout_ms)
    page.wait_for_selector(STALE, state="detached", timeout=timeout_ms)
    page.wait_for_selector(MAIN_BLOCK, state="visible", timeout=timeout_ms)
    # widgets, tables and charts draw after the run, from lazily loaded frontend code: until then
    # a grey skeleton stands in for them (tables and charts in a collapsed expander draw only when
    # it opens)
    page.wait_for_function(
        f"""() => {{
            const shown = s => [...document.querySelectorAll(s)].filter(e => e.checkVisibility());
            return shown('{SKELETON}').length === 0
                && shown('{DATAFRAME}').every(e => e.querySelector('[role=grid]'))
                && shown('{PLOTLY}').every(e => e.querySelector('.main-svg'));
        }}""",
        timeout=timeout_ms,
    )


def open_page(page, url: str) -> None:
    """Load ``url`` in ``page`` and wait for the app to finish running it."""
    page.goto(url, wait_until="domcontentloaded")
    wait_for_app(page)


def exception_texts(page) -> list[str]:
    """The text of every exception box (``st.exception``/uncaught error) on the page."""
    return [text.strip() for text in page.locator(EXCEPTION).all_inner_texts()]


def full_page_screenshot(page, path: Path) -> Path:
    """Save a PNG of the whole app at ``path``. The app scrolls inside its main container and its
    sidebar, not the document, so the viewport is grown to the taller of the two for the shot
    (at most ``MAX_SCREENSHOT_HEIGHT`` pixels), then restored."""
    height = page.evaluate(
        f"""() => {{
            const heights = ['{MAIN}', '{SIDEBAR_CONTENT}'].map(s => document.querySelector(s))
                .filter(e => e).map(e => e.scrollHeight);
            return Math.max(document.documentElement.scrollHeight, ...heights);
        }}"""
    )
    original = page.viewport_size or VIEWPORT
    tall = {"width": original["width"], "height": int(min(max(height, original["height"]), MAX_SCREENSHOT_HEIGHT))}
    page.set_viewport_size(tall)
    try:
        page.wait_for_timeout(500)  # charts re-layout to the new size
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(original)
    return path


def grid_shape(grid) -> tuple[int, int]:
    """``(data rows, columns)`` of an ``st.dataframe``: the ARIA counts of the accessible table the
    grid keeps beside its canvas (every row counts, not only the drawn ones)."""
    table = grid.locator("[role=grid]").first
    return int(table.get_attribute("aria-rowcount")) - 1, int(table.get_attribute("aria-colcount"))


def grid_headers(grid) -> list[str]:
    """Column headers of an ``st.dataframe``, left to right."""
    return [text.strip() for text in grid.locator("[role=columnheader]").all_inner_texts()]


def grid_column(grid, header: str) -> list[str]:
    """The cells of the column ``header`` in the rows the grid has drawn (top rows first)."""
    index = grid_headers(grid).index(header) + 1
    return [text.strip() for text in grid.locator(f"tbody [role=gridcell][aria-colindex='{index}']").all_inner_texts()]


def plotly_trace_types(chart) -> list[str]:
    """Trace types of the plotly figure drawn in ``chart`` (an ``stPlotlyChart`` element)."""
    return chart.locator(".js-plotly-plot").first.evaluate("e => (e.data || []).map(t => t.type)")


@dataclass
class BrowserWalk:
    """What a walk test needs: the running app, one browser page and where screenshots go.
    JavaScript errors thrown by the page are collected in ``page_errors``."""

    server: AppServer
    page: object
    screenshots: Path
    page_errors: list[str]

    def url(self, path: str = "") -> str:
        return f"{self.server.url}/{path.lstrip('/')}"

    def visit(self, path: str = ""):
        """Open ``path`` (e.g. ``stock?ticker=AAPL``) and wait until the app has rendered it;
        fails when the page shows an exception box or throws a JavaScript error."""
        self.page_errors.clear()
        open_page(self.page, self.url(path))
        self.check(path)
        return self.page

    def check(self, where: str) -> None:
        """Fail when the page shows an exception box or has thrown a JavaScript error."""
        errors = exception_texts(self.page)
        assert not errors, f"exception box(es) on /{where}:\n" + "\n---\n".join(errors)
        assert not self.page_errors, f"JavaScript error(s) on /{where}: {self.page_errors}"

    def screenshot(self, name: str) -> Path:
        """Full-page PNG ``<name>.png`` in the screenshot folder."""
        return full_page_screenshot(self.page, self.screenshots / f"{name}.png")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """The system Chromium (skip, or fail under ``CI=true``, without it or without playwright).
    Session-scoped so that it is checked before the warehouse is built."""
    return require_browser()


@pytest.fixture(scope="module")
def screenshots_dir(tmp_path_factory) -> Path:
    """``BROWSER_SCREENSHOTS_DIR`` (created), else a pytest temporary folder."""
    configured = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(configured).resolve() if configured else tmp_path_factory.mktemp("browser-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def app_server(chromium_executable, built_warehouse, tmp_path_factory) -> Iterator[AppServer]:
    """``streamlit run dashboards/app.py`` on the session's DuckDB snapshot, with private copies of
    the portfolio folder and the alert rules; stopped after the module."""
    folder = tmp_path_factory.mktemp("browser-app")
    settings = user_data_copy(Settings.from_values(warehouse_path=built_warehouse.warehouse_path,
                                                   snapshot_path=built_warehouse.snapshot_path,
                                                   strategies_dir=built_warehouse.settings.strategies_dir), folder)  # fmt: skip
    server = start_app(settings, folder)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser_walk(chromium_executable, app_server, screenshots_dir) -> Iterator[BrowserWalk]:
    """One headless Chromium and one page on the running app for the whole module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_executable), headless=True,
                                             args=CHROMIUM_ARGS)  # fmt: skip
        try:
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.set_default_timeout(RUN_TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield BrowserWalk(server=app_server, page=page, screenshots=screenshots_dir, page_errors=errors)
            context.close()
        finally:
            browser.close()
