"""The data materialiser (``domain.datasets``, ``data/manifest.toml``): copies from a mirror,
reruns cheaply, refuses bytes with another sha256 and writes nothing then, says where a missing
file comes from, downloads through httpx (a mock transport here: no network), rebuilds files from
their recipes with the manifest's sha256, and no tracked file is a copy of the data."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import tomllib
import zlib
from datetime import date
from pathlib import Path

import httpx
import pytest

from domain import datasets
from domain.datasets import (
    DataFile,
    MaterialiseError,
    MissingDataFileError,
    bundled_path,
    load_manifest,
    materialise,
    sha256_of,
)
from domain.datasets_recipes import KINDS, RecipeContext, build, compress
from tests.conftest import REPO_ROOT

MANIFEST = load_manifest()
SHARED_MIRROR = Path("/work/shared/data")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entry(path: str, data: bytes, source: dict | None = None, mirror: str | None = None) -> DataFile:
    return DataFile(
        path=path,
        mirror=mirror or f"m/{path}",
        sha256=_sha(data),
        size=len(data),
        licence="test",
        source=source or {"kind": "url", "url": f"https://data.test/{path}"},
    )


def _put(folder: Path, relative: str, data: bytes) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.tmp")) if folder.exists() else []


def _offline_transport() -> httpx.MockTransport:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no network in this test", request=request)

    return httpx.MockTransport(refuse)


A = b"date,close\n2018-01-02,1.5\n"
B = b"Symbol,Name\nAAPL,Apple Inc.\n"


# ----------------------------------------------------------------------------- the manifest


def test_manifest_lists_every_data_file_with_a_source():
    with open(REPO_ROOT / "data" / "manifest.toml", "rb") as handle:
        document = tomllib.load(handle)
    assert document["manifest"]["target"] == "data/sample"
    assert len(document["file"]) == len(MANIFEST) == 34
    assert {p for p in MANIFEST if not p.startswith("fixtures/")} == {
        "sp500_all_stocks_5yr.csv.gz", "constituents_2018-04-02.csv", "constituents-financials_2018-02-08.csv",
        "datapackage_constituents.json", "datapackage_financials_2018.json",
        "news/benzinga_analyst_ratings_processed_sample.csv", "news/benzinga_raw_partner_headlines_sample.csv",
        "news/yahoo_search_news_2025.csv",
        "sec/company_tickers.json.gz", "sec/companyfacts_CIK0000320193.json.gz",
        "sec/companyfacts_CIK0001045810.json.gz", "sec/companyfacts_CIK0001652044.json.gz",
        "sec/companyfacts_CIK0001835632.json.gz",
        "krx/krx_daily_ohlcv_20180102_20220516.csv.gz", "krx/krx_index_daily_KS11_KQ11_KS200.csv.gz",
        "krx/krx_listing_fdr_20220516.csv", "krx/krx_listing_desc_sector_20260322.csv.gz",
        "krx/krx_delisting_20260322.csv.gz", "dart/dart_key_accounts_annual.csv",
        "krx/krx_marcap-2024-jan-feb.csv.gz",
    }  # fmt: skip
    assert len([p for p in MANIFEST if p.startswith("fixtures/yahoo/")]) == 5
    assert len([p for p in MANIFEST if p.startswith("fixtures/krx/")]) == 7
    for entry in MANIFEST.values():
        assert len(entry.sha256) == 64 and entry.size > 0 and entry.licence, entry.path
        assert entry.source["kind"] in KINDS, entry.path
        if entry.source["kind"] in ("url", "gzip"):
            assert entry.source["url"].startswith("https://github.com/"), entry.path
        if entry.source["kind"] == "cut":
            assert entry.source["parent"] in MANIFEST, entry.path


# ----------------------------------------------------------------------------- mirror, stamp, atomic writes


@pytest.mark.parametrize(("link", "action"), [(False, "copied"), (True, "linked")])
def test_copies_or_links_from_a_mirror(tmp_path, link, action):
    mirror, target = tmp_path / "mirror", tmp_path / "sample"
    files = {e.path: e for e in (_entry("prices.csv", A), _entry("sub/companies.csv", B))}
    _put(mirror, "m/prices.csv", A)
    _put(mirror, "m/sub/companies.csv", B)
    outcomes = materialise(target, mirror=mirror, manifest=files, link=link, download=False)
    assert [(o.path, o.action) for o in outcomes] == [("prices.csv", action), ("sub/companies.csv", action)]
    assert (target / "prices.csv").read_bytes() == A and (target / "sub" / "companies.csv").read_bytes() == B
    assert not (target / "prices.csv").is_symlink()
    assert _leftovers(target) == []


def test_a_rerun_does_nothing_and_skips_hashing_unless_verify(tmp_path, monkeypatch):
    mirror, target = tmp_path / "mirror", tmp_path / "sample"
    files = {"prices.csv": _entry("prices.csv", A)}
    _put(mirror, "m/prices.csv", A)
    materialise(target, mirror=mirror, manifest=files, download=False)
    hashed = []
    real_sha256_of = datasets.sha256_of
    monkeypatch.setattr(datasets, "sha256_of", lambda path: hashed.append(path) or real_sha256_of(path))
    again = materialise(target, mirror=mirror, manifest=files, download=False)
    assert [o.action for o in again] == ["present"] and hashed == []  # the stamp's size/mtime/inode matched
    verified = materialise(target, mirror=mirror, manifest=files, download=False, verify=True)
    assert [o.action for o in verified] == ["present"] and hashed == [target / "prices.csv"]

    # a file changed in place is noticed (its mtime moved) and put back
    (target / "prices.csv").unlink()
    _put(target, "prices.csv", b"date,close\n2018-01-02,9.9\n")
    fixed = materialise(target, mirror=mirror, manifest=files, download=False, link=False)
    assert [(o.action, o.replaced) for o in fixed] == [("copied", True)]
    assert (target / "prices.csv").read_bytes() == A


def test_a_mirror_file_with_another_sha256_is_refused_and_nothing_is_written(tmp_path):
    mirror, target = tmp_path / "mirror", tmp_path / "sample"
    files = {"prices.csv": _entry("prices.csv", A), "companies.csv": _entry("companies.csv", B)}
    _put(mirror, "m/prices.csv", A.replace(b"1.5", b"1.6"))
    _put(mirror, "m/companies.csv", B)
    for link in (True, False):
        with pytest.raises(MaterialiseError) as raised:
            materialise(target, mirror=mirror, manifest=files, link=link, download=False)
        assert list(raised.value.failures) == ["prices.csv"]
        message = str(raised.value)
        assert f"the mirror's copy {mirror / 'm' / 'prices.csv'} has sha256" in message
        assert files["prices.csv"].sha256 in message and "nothing was written" in message
        assert not (target / "prices.csv").exists()
        assert (target / "companies.csv").read_bytes() == B  # the other files are still materialised
        assert _leftovers(target) == []


def test_an_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    mirror, target = tmp_path / "mirror", tmp_path / "sample"
    files = {"prices.csv": _entry("prices.csv", A)}
    _put(mirror, "m/prices.csv", A)

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        materialise(target, mirror=mirror, manifest=files, link=False, download=False)
    assert not (target / "prices.csv").exists()
    assert _leftovers(target) == []


def test_a_file_missing_everywhere_names_the_file_the_mirror_and_the_source(tmp_path):
    mirror, target = tmp_path / "mirror", tmp_path / "sample"
    mirror.mkdir()
    files = {"prices.csv": _entry("prices.csv", A)}
    with pytest.raises(MaterialiseError) as offline:
        materialise(target, mirror=mirror, manifest=files, download=False)
    message = str(offline.value)
    assert str(target / "prices.csv") in message
    assert f"not in the mirror ({mirror / 'm' / 'prices.csv'} does not exist)" in message
    assert "downloads it from https://data.test/prices.csv" in message and "--offline" in message

    with pytest.raises(MaterialiseError) as no_network:
        materialise(target, mirror=mirror, manifest=files, transport=_offline_transport())
    assert "ConnectError" in str(no_network.value) and "https://data.test/prices.csv" in str(no_network.value)
    assert not target.joinpath("prices.csv").exists()


def test_mirror_only_files_say_they_must_come_from_the_mirror(tmp_path):
    source = {"kind": "mirror_only", "recipe": "a recorded response body, gzip-compressed"}
    files = {"facts.json.gz": _entry("facts.json.gz", b"x", source)}
    with pytest.raises(MaterialiseError, match="must come from the mirror .how it was made: a recorded response"):
        materialise(tmp_path / "sample", mirror=tmp_path / "nowhere", manifest=files, transport=_offline_transport())


# ----------------------------------------------------------------------------- downloads (mock transport)


def test_downloads_through_httpx_and_checks_the_sha256(tmp_path):
    target = tmp_path / "sample"
    served = {"https://data.test/prices.csv": A, "https://data.test/companies.csv": B.upper()}
    requested = []

    def serve(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        body = served.get(str(request.url))
        return httpx.Response(200, content=body) if body is not None else httpx.Response(404)

    files = {e.path: e for e in (_entry("prices.csv", A), _entry("companies.csv", B), _entry("gone.csv", A))}
    with pytest.raises(MaterialiseError) as raised:
        materialise(target, mirror=tmp_path / "empty", manifest=files, transport=httpx.MockTransport(serve))
    assert requested == [
        "https://data.test/prices.csv",
        "https://data.test/companies.csv",
        "https://data.test/gone.csv",
    ]
    assert (target / "prices.csv").read_bytes() == A
    failures = raised.value.failures
    assert "has sha256" in failures["companies.csv"] and not (target / "companies.csv").exists()
    assert "404" in failures["gone.csv"] and not (target / "gone.csv").exists()
    assert _leftovers(target) == []


def test_concat_csv_recipe_downloads_members_and_gzips(tmp_path):
    members = {"AAA": b"date,close,Name\n2018-01-02,1,AAA\n", "B.B": b"date,close,Name\n2018-01-02,2,B.B\n"}
    content = b"date,close,Name\n2018-01-02,1,AAA\n2018-01-02,2,B.B\n"
    expected = gzip.compress(content, compresslevel=9, mtime=0)  # Python's own gzip: zlib, memLevel 8
    source = {
        "kind": "concat_csv",
        "url_pattern": "https://data.test/stocks/{member}_data.csv",
        "header": "date,close,Name",
        "members": list(members),
        "content_sha256": _sha(content),
        "gzip": {"compressor": "zlib", "level": 9, "mem_level": 8, "mtime": 0, "os": expected[9]},
    }
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=members[request.url.path.split("/")[-1].removesuffix("_data.csv")])
    )
    files = {"all.csv.gz": _entry("all.csv.gz", expected, source)}
    outcomes = materialise(tmp_path / "sample", mirror=tmp_path / "empty", manifest=files, transport=transport)
    assert [o.action for o in outcomes] == ["built"]
    assert (tmp_path / "sample" / "all.csv.gz").read_bytes() == expected

    # same content, other compression: reported as such, nothing written
    source["gzip"] = {"compressor": "zlib", "level": 1, "mtime": 0}
    with pytest.raises(MaterialiseError, match="only the compression differs"):
        materialise(tmp_path / "other", mirror=tmp_path / "empty", manifest=files, transport=transport)
    assert not (tmp_path / "other" / "all.csv.gz").exists()


# ----------------------------------------------------------------------------- the real recipes


def _recipe_context(mirror: Path | None = None) -> RecipeContext:
    def no_download(url: str) -> bytes:
        raise AssertionError(f"this test downloads nothing ({url})")

    return RecipeContext(fetch=no_download, mirror=mirror, parent=bundled_path, log=lambda line: None)


@pytest.mark.parametrize("path", [p for p, e in MANIFEST.items() if e.source["kind"] == "cut"])
def test_cut_recipes_recompute_the_fixtures_from_the_materialised_parent(path):
    entry = MANIFEST[path]
    data = build(entry.source, _recipe_context())
    assert (_sha(data), len(data)) == (entry.sha256, entry.size)


def test_the_sp500_gzip_settings_reproduce_the_compressed_file():
    """The concat recipe's last step: the content has the manifest's sha256, and compressing it
    with the manifest's gzip settings gives the file's header and (its first 4 MB) deflate stream."""
    entry = MANIFEST["sp500_all_stocks_5yr.csv.gz"]
    raw = bundled_path(entry.path).read_bytes()
    content = gzip.decompress(raw)
    assert (_sha(content), len(content)) == (entry.source["content_sha256"], entry.source["content_size"])
    settings = entry.source["gzip"]
    header_size = 10 + len(settings["filename"]) + 1  # fixed fields, then the file name and a NUL
    assert raw[:header_size] == compress(b"", settings)[:header_size]
    deflate = zlib.compressobj(settings["level"], zlib.DEFLATED, -zlib.MAX_WBITS, settings["mem_level"])
    prefix = deflate.compress(content[: 4 << 20])
    assert len(prefix) > 100_000 and raw[header_size : header_size + len(prefix)] == prefix


@pytest.mark.skipif(shutil.which("gzip") is None, reason="GNU gzip is not installed")
def test_company_tickers_recipe_reproduces_the_file_with_gnu_gzip():
    entry = MANIFEST["sec/company_tickers.json.gz"]
    content = gzip.decompress(bundled_path(entry.path).read_bytes())
    assert _sha(content) == entry.source["content_sha256"]
    assert _sha(compress(content, entry.source["gzip"])) == entry.sha256


@pytest.mark.skipif(not SHARED_MIRROR.is_dir(), reason=f"no data mirror at {SHARED_MIRROR}")
def test_yahoo_search_news_recipe_rebuilds_the_csv_from_the_mirror_responses():
    entry = MANIFEST["news/yahoo_search_news_2025.csv"]
    data = build(entry.source, _recipe_context(SHARED_MIRROR))
    assert (_sha(data), len(data)) == (entry.sha256, entry.size)


@pytest.mark.skipif(not SHARED_MIRROR.is_dir(), reason=f"no data mirror at {SHARED_MIRROR}")
def test_every_mirror_file_has_the_manifest_sha256():
    wrong = {
        entry.path: (entry.mirror, sha256_of(SHARED_MIRROR / entry.mirror))
        for entry in MANIFEST.values()
        if not (SHARED_MIRROR / entry.mirror).is_file() or sha256_of(SHARED_MIRROR / entry.mirror) != entry.sha256
    }
    assert wrong == {}


# ----------------------------------------------------------------------------- the product API and the rule


def test_bundled_path_says_how_to_get_a_missing_file(tmp_path, monkeypatch):
    assert bundled_path("sp500_all_stocks_5yr.csv.gz") == REPO_ROOT / "data" / "sample" / "sp500_all_stocks_5yr.csv.gz"
    monkeypatch.setattr(datasets, "DEFAULT_TARGET", tmp_path / "sample")
    monkeypatch.setattr(datasets, "DEFAULT_MIRROR", tmp_path / "mirror")
    with pytest.raises(MissingDataFileError) as missing:
        bundled_path("constituents_2018-04-02.csv")
    assert isinstance(missing.value, FileNotFoundError)
    assert str(missing.value) == (
        "data/sample/constituents_2018-04-02.csv is missing: run `make data` (copies it from "
        f"no mirror (make data: DATA_MIRROR is not set, and {tmp_path / 'mirror'} does not exist), "
        "or downloads it from "
        "https://github.com/datasets/s-and-p-500-companies/raw/5dfdfbc3b9f5/data/constituents.csv)"
    )
    with pytest.raises(
        MissingDataFileError, match="fixtures/yahoo/chart-AAPL-2020-01-01-to-2020-01-03.json is missing"
    ):
        bundled_path("fixtures/yahoo")  # a folder: every manifest file under it must be there


def test_the_command_line_materialises_and_fails_clearly(tmp_path, capsys):
    mirror, target = tmp_path / "mirror", tmp_path / "sample"
    _put(mirror, "m/prices.csv", A)
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(
        '[[file]]\npath = "prices.csv"\nmirror = "m/prices.csv"\n'
        f'sha256 = "{_sha(A)}"\nsize = {len(A)}\nlicence = "test"\n'
        '[file.source]\nkind = "url"\nurl = "https://data.test/prices.csv"\n'
    )
    args = ["--manifest", str(manifest), "--target", str(target), "--mirror", str(mirror), "--offline"]
    assert datasets.main(args) == 0
    assert "1 data files checked (1 linked)" in capsys.readouterr().out
    (mirror / "m" / "prices.csv").unlink()
    (target / "prices.csv").unlink()
    assert datasets.main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 1 data file(s) could not be materialised:") and "https://data.test/prices.csv" in err


def test_no_tracked_file_is_a_copy_of_the_data():
    """The repository commits no third-party data: no tracked file has the bytes (or, for
    compressed files, the uncompressed bytes) of a manifest file."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (or no git): nothing to check")
    digests = {entry.sha256: entry.path for entry in MANIFEST.values()}
    digests |= {e.source["content_sha256"]: e.path for e in MANIFEST.values() if "content_sha256" in e.source}
    sizes = {e.size for e in MANIFEST.values()} | {e.source.get("content_size") for e in MANIFEST.values()}
    copies = {}
    for name in filter(None, listed.split("\0")):
        path = REPO_ROOT / name
        if path.is_file() and not path.is_symlink() and os.path.getsize(path) in sizes:
            digest = sha256_of(path)
            if digest in digests:
                copies[name] = digests[digest]
    assert copies == {}


def test_the_product_names_a_missing_bundled_file_and_how_to_get_it(tmp_path, monkeypatch):
    """What a build reports when ``make data`` was not run: the prices reader, the reference
    files, the headlines and the SEC files all go through ``require_file``."""
    from pipelines.defs.prices.sources import read_price_batch
    from pipelines.lib.resources import PriceSourceResource

    monkeypatch.setattr(datasets, "DEFAULT_TARGET", tmp_path / "sample")
    source = PriceSourceResource(
        prices_csv=str(tmp_path / "sample" / "sp500_all_stocks_5yr.csv.gz"), history_start="2013-02-08",
        constituents_csv=str(tmp_path / "sample" / "constituents_2018-04-02.csv"),
    )  # fmt: skip
    with pytest.raises(MissingDataFileError, match=r"data/sample/sp500_all_stocks_5yr\.csv\.gz is missing: run `make data`"):
        read_price_batch(source, None, date(2013, 2, 8), date(2013, 2, 9))
    elsewhere = tmp_path / "mine.csv"
    assert datasets.require_file(elsewhere) == elsewhere  # not bundled: its reader reports it
