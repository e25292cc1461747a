"""The third-party data files (``data/manifest.toml``): materialising them into ``data/sample/``
and finding them from product and test code.

The repository commits no copy of third-party data. ``make data`` (``python -m domain.datasets``)
puts each manifest file at ``data/sample/<path>`` (git-ignored): nothing to do when it is there
with the right sha256; else hard-linked or copied from a local mirror (``--mirror``, which
``make data`` sets from ``DATA_MIRROR``, else ``../shared/data`` next to the repository when it
exists); else rebuilt from its public source (a download, or a recipe: see
:mod:`domain.datasets_recipes`). Every file is checked against the manifest's sha256 and written
atomically (a temporary file in the same folder, then ``os.replace``), so an interrupted run
leaves no partial file. A stamp file (``data/sample/.materialised.json``: size, mtime, inode and
sha256 per file) lets a rerun skip rehashing unchanged files; ``--verify`` rehashes everything.

Standard library only, because it runs before anything else is set up; ``httpx`` is imported
lazily, and only when a file has to be downloaded.

Product code asks for a file with :func:`bundled_path` or :func:`require_file`, which say how to
get it when missing.

Longer than our usual ~300 lines on purpose: the manifest reader, the materialiser with its
stamp, the product API and the command line share one error vocabulary (file, mirror path, URL
or recipe), and splitting them would spread it; the recipes themselves are in
:mod:`domain.datasets_recipes`.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import os
import secrets
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.datasets_recipes import (
    DataFileError,
    ManifestError,
    RecipeContext,
    SourceUnavailableError,
    build,
    describe,
)

__all__ = [
    "ChecksumMismatchError",
    "DataFile",
    "DataFileError",
    "ManifestError",
    "MaterialiseError",
    "MissingDataFileError",
    "Outcome",
    "SourceUnavailableError",
    "bundled_path",
    "load_manifest",
    "materialise",
    "resolve_mirror",
    "sha256_of",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = REPO_ROOT / "data" / "manifest.toml"
DEFAULT_TARGET = REPO_ROOT / "data" / "sample"
DEFAULT_MIRROR = REPO_ROOT.parent / "shared" / "data"
MIRROR_ENV = "DATA_MIRROR"
STAMP_NAME = ".materialised.json"
_CHUNK = 1 << 20


class ChecksumMismatchError(DataFileError):
    """A file from the mirror or rebuilt from its source does not have the manifest's sha256."""


class MaterialiseError(DataFileError):
    """One or more files could not be materialised; ``failures`` maps each path to the reason."""

    def __init__(self, failures: Mapping[str, str]) -> None:
        self.failures = dict(failures)
        lines = [f"{len(self.failures)} data file(s) could not be materialised:"]
        lines += [f"- {reason}" for reason in self.failures.values()]
        super().__init__("\n".join(lines))


class MissingDataFileError(FileNotFoundError):
    """A bundled data file is not in ``data/sample/``; the message says how to get it."""


@dataclass(frozen=True)
class DataFile:
    """One ``[[file]]`` of the manifest.

    Attributes:
        path: where it lands, relative to the target folder (``data/sample``).
        mirror: its path in the mirror folder.
        sha256: hex digest of its bytes; ``size`` in bytes.
        licence: the source repository's licence and who owns the content.
        source: its ``[file.source]`` table (``kind`` and the kind's keys).
    """

    path: str
    mirror: str
    sha256: str
    size: int
    licence: str
    source: Mapping[str, Any]

    def describe_source(self) -> str:
        """How the file is obtained without the mirror, as a phrase for messages."""
        return describe(self.source)


@dataclass(frozen=True)
class Outcome:
    """What :func:`materialise` did for one file: ``action`` is ``present`` (already right),
    ``linked`` / ``copied`` (from the mirror), ``downloaded`` or ``built`` (from its source);
    ``replaced``: a file with other bytes was there before."""

    path: str
    action: str
    replaced: bool = False


# ----------------------------------------------------------------------------- manifest


@functools.lru_cache(maxsize=8)
def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, DataFile]:
    """The manifest's files by ``path``, in manifest order (cached per path: do not modify it).

    Raises:
        ManifestError: the file cannot be read or parsed, or an entry lacks a key or repeats a path.
    """
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ManifestError(f"cannot read the data manifest {path}: {error}") from error
    files: dict[str, DataFile] = {}
    for number, item in enumerate(document.get("file", []), start=1):
        try:
            entry = DataFile(
                path=item["path"],
                mirror=item["mirror"],
                sha256=item["sha256"].lower(),
                size=int(item["size"]),
                licence=item["licence"],
                source=item["source"],
            )
        except KeyError as missing:
            raise ManifestError(f"{path}: [[file]] number {number} lacks the key {missing}") from None
        if entry.path in files:
            raise ManifestError(f"{path}: {entry.path} is listed twice")
        files[entry.path] = entry
    return files


def resolve_mirror(mirror: str | os.PathLike[str] | None = None) -> Path | None:
    """The mirror folder to copy from: ``mirror`` if given (even when it does not exist, so that
    messages name it; ``make data`` passes ``--mirror $(DATA_MIRROR)``), else ``../shared/data``
    next to the repository when it exists, else None. Relative paths are taken from the current
    folder."""
    if mirror is not None and str(mirror) != "":
        return Path(mirror).expanduser().absolute()
    return DEFAULT_MIRROR if DEFAULT_MIRROR.is_dir() else None


def _describe_mirror(mirror: Path | None) -> str:
    if mirror is None:
        return f"no mirror (make data: {MIRROR_ENV} is not set, and {DEFAULT_MIRROR} does not exist)"
    return f"{MIRROR_ENV}={mirror}" + ("" if mirror.is_dir() else " (no such folder)")


# ----------------------------------------------------------------------------- product API


def require_file(path: Path) -> Path:
    """``path`` itself, after checking that a bundled file is there: a path under
    ``data/sample/`` that is missing raises :class:`MissingDataFileError` (what :func:`bundled_path`
    says: run ``make data``, and where that gets it); any other path is returned unchanged, for
    its reader to report.

    Raises:
        MissingDataFileError: a bundled file is missing.
    """
    path = Path(path)
    try:
        relative = path.resolve().relative_to(DEFAULT_TARGET.resolve())
    except ValueError:
        return path
    if not path.exists():
        bundled_path(relative.as_posix())
    return path


def bundled_path(relative: str) -> Path:
    """The path of a bundled data file: ``<repository>/data/sample/<relative>``.

    ``relative`` may also name a folder of manifest files (e.g. ``fixtures/yahoo``): then every
    manifest file under it must be present.

    Raises:
        MissingDataFileError: the file (or one of the folder's files) is not there; the message
            says to run ``make data`` and where that gets it from (mirror path, URL or recipe).
    """
    path = DEFAULT_TARGET / relative
    try:
        manifest = load_manifest(MANIFEST_PATH)
    except ManifestError:
        manifest = {}
    prefix = relative.rstrip("/") + "/"
    expected = [relative] if relative in manifest else [p for p in manifest if p.startswith(prefix)]
    for name in expected:
        if not (DEFAULT_TARGET / name).is_file():
            raise MissingDataFileError(missing_message(name, manifest.get(name)))
    if not expected and not path.exists():
        raise MissingDataFileError(missing_message(relative, None))
    return path


def missing_message(relative: str, entry: DataFile | None, mirror: Path | None = None) -> str:
    """The message of a missing ``data/sample/<relative>``: what to run and where it comes from."""
    shown = f"data/sample/{relative}"
    if entry is None:
        return f"{shown} is missing, and data/manifest.toml does not list it: run `make data` or fix the path"
    mirror = mirror if mirror is not None else resolve_mirror()
    mirror_text = _describe_mirror(mirror)
    if mirror is not None:
        mirror_text += f": {mirror / entry.mirror}"
    if entry.source.get("kind") == "mirror_only":
        return (
            f"{shown} is missing: run `make data` (copies it from {mirror_text}; no public URL serves these "
            "bytes, so only the mirror has it)"
        )
    return f"{shown} is missing: run `make data` (copies it from {mirror_text}, or {entry.describe_source()})"


# ----------------------------------------------------------------------------- materialising


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks. Raises OSError if unreadable."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def materialise(
    target: str | os.PathLike[str] = DEFAULT_TARGET,
    *,
    mirror: str | os.PathLike[str] | None = None,
    verify: bool = False,
    manifest: Mapping[str, DataFile] | None = None,
    only: Iterable[str] | None = None,
    download: bool = True,
    transport: Any = None,
    link: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Put every manifest file (or those in ``only``) into ``target`` with the manifest's sha256.

    For each file: nothing when it is there already (known from the stamp, or rehashed; always
    rehashed with ``verify``); else from the mirror (hard-linked when ``link`` and on the same
    file system, else copied); else rebuilt from its source (downloads unless ``download`` is
    False; ``transport`` is passed to ``httpx.Client``, for tests). A ``cut`` gets its parent
    materialised first. Files are written atomically; a file whose bytes do not match is not
    written. Every file is tried before failures are raised.

    Args:
        target: the folder (``data/sample``).
        mirror: the mirror folder; None: :func:`resolve_mirror`.
        verify: rehash every file, ignoring the stamp.
        manifest: files to use instead of ``data/manifest.toml`` (tests).
        only: restrict to these manifest paths.
        log: receives one line per file acted on.

    Returns:
        One :class:`Outcome` per file handled, in manifest order (parents before their cuts).

    Raises:
        MaterialiseError: some files could not be materialised (each reason names the file, the
            mirror path looked at and the source); the others are in place.
        ManifestError: the manifest is malformed or ``only`` names a file it does not list.
    """
    files = dict(manifest) if manifest is not None else load_manifest(MANIFEST_PATH)
    wanted = list(files) if only is None else list(only)
    unknown = [p for p in wanted if p not in files]
    if unknown:
        raise ManifestError(f"not in the data manifest: {', '.join(unknown)}")
    run = _Run(
        target=Path(target).absolute(),
        mirror=resolve_mirror(mirror),
        files=files,
        verify=verify,
        download=download,
        transport=transport,
        link=link,
        log=log or (lambda line: None),
    )
    try:
        for path in wanted:
            try:
                run.ensure(path)
            except DataFileError:
                continue  # recorded in run.failures; try the others
    finally:
        run.close()
    if run.failures:
        raise MaterialiseError(run.failures)
    return run.outcomes


class _Run:
    """State of one :func:`materialise` call."""

    def __init__(self, *, target, mirror, files, verify, download, transport, link, log) -> None:
        self.target: Path = target
        self.mirror: Path | None = mirror
        self.files: Mapping[str, DataFile] = files
        self.verify, self.download, self.transport, self.link, self.log = verify, download, transport, link, log
        self.outcomes: list[Outcome] = []
        self.failures: dict[str, str] = {}
        self.done: set[str] = set()
        self.stamp_path = target / STAMP_NAME
        self.stamp = self._read_stamp()
        self.stamp_dirty = False
        self.client = None

    # -- one file

    def ensure(self, path: str) -> Path:
        """Materialise ``path`` once per run and return where it is.

        Raises:
            DataFileError: it failed (now or earlier in this run); the reason is recorded too.
        """
        dest = self.target / path
        if path in self.failures:
            raise DataFileError(self.failures[path])
        if path in self.done:
            return dest
        entry = self.files[path]
        try:
            action, replaced = self._materialise(entry, dest)
        except DataFileError as error:
            self.failures[path] = str(error)
            self._forget(path)
            raise
        self.done.add(path)
        self.outcomes.append(Outcome(path, action, replaced))
        if action != "present":
            self.log(f"{action:<10} {_shown(dest)}" + (" (replaced a file with other bytes)" if replaced else ""))
        return dest

    def _materialise(self, entry: DataFile, dest: Path) -> tuple[str, bool]:
        if self._unchanged(entry, dest):
            return "present", False
        replaced = False
        if dest.is_file():
            if sha256_of(dest) == entry.sha256:
                self._remember(entry, dest)
                return "present", False
            replaced = True
        mirror_file = self.mirror / entry.mirror if self.mirror is not None else None
        if mirror_file is not None and mirror_file.is_file():
            action = self._from_mirror(entry, mirror_file, dest)
        else:
            action = self._from_source(entry, dest, mirror_file)
        self._remember(entry, dest)
        return action, replaced

    def _from_mirror(self, entry: DataFile, source: Path, dest: Path) -> str:
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.tmp"
        try:
            if self.link:
                actual = sha256_of(source)
                self._check(entry, dest, actual, f"the mirror's copy {source}")
                try:
                    os.link(source, partial)
                except OSError:  # another file system, or not allowed: copy instead
                    pass
                else:
                    os.replace(partial, dest)
                    return "linked"
            digest = hashlib.sha256()
            with open(source, "rb") as reader, open(partial, "wb") as writer:
                while chunk := reader.read(_CHUNK):
                    digest.update(chunk)
                    writer.write(chunk)
                writer.flush()
                os.fsync(writer.fileno())
            self._check(entry, dest, digest.hexdigest(), f"the mirror's copy {source}")
            os.replace(partial, dest)
            return "copied"
        finally:
            partial.unlink(missing_ok=True)

    def _from_source(self, entry: DataFile, dest: Path, mirror_file: Path | None) -> str:
        where = (
            f"not in the mirror ({mirror_file} does not exist)" if mirror_file is not None else _describe_mirror(None)
        )
        context = RecipeContext(fetch=self._fetch, mirror=self.mirror, parent=self._parent, log=self.log)
        try:
            data = build(entry.source, context)
        except DataFileError as error:
            if entry.source.get("kind") == "mirror_only":
                raise SourceUnavailableError(f"{_shown(dest)}: {where}, and {error}") from error
            raise SourceUnavailableError(
                f"{_shown(dest)}: {where}; without it, `make data` {entry.describe_source()}, which failed: {error}"
            ) from error
        actual = hashlib.sha256(data).hexdigest()
        self._check(entry, dest, actual, f"the file rebuilt from its source ({entry.describe_source()})", data)
        _write_atomically(dest, data)
        return "downloaded" if entry.source.get("kind") == "url" else "built"

    def _check(self, entry: DataFile, dest: Path, actual: str, what: str, data: bytes | None = None) -> None:
        if actual == entry.sha256:
            return
        detail = ""
        content_sha = entry.source.get("content_sha256")
        if data is not None and content_sha:
            try:
                content_ok = hashlib.sha256(gzip.decompress(data)).hexdigest() == content_sha
            except OSError:
                content_ok = False
            detail = (
                " (its uncompressed content is right: only the compression differs; copy it from the mirror)"
                if content_ok
                else " (its uncompressed content differs too)"
            )
        raise ChecksumMismatchError(
            f"{_shown(dest)}: {what} has sha256 {actual}, the manifest says {entry.sha256}{detail}; "
            "nothing was written. Fix the mirror (or data/manifest.toml if the file was meant to change)."
        )

    def _parent(self, path: str) -> Path:
        if path not in self.files:
            raise ManifestError(f"a cut names the parent {path!r}, which data/manifest.toml does not list")
        return self.ensure(path)

    def _fetch(self, url: str) -> bytes:
        if not self.download:
            raise SourceUnavailableError("downloads are switched off (--offline)")
        try:
            import httpx
        except ImportError as error:
            raise SourceUnavailableError(f"downloading {url} needs httpx (run `make install` first)") from error
        if self.client is None:
            self.client = httpx.Client(
                transport=self.transport,
                follow_redirects=True,
                timeout=httpx.Timeout(60.0, connect=15.0),
                headers={"User-Agent": "stock-screener-warehouse data materialiser (python -m domain.datasets)"},
            )
        try:
            response = self.client.get(url)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise SourceUnavailableError(f"downloading {url} failed: {type(error).__name__}: {error}") from error
        return response.content

    # -- the stamp: size, mtime, inode and sha256 of each file this folder holds

    def _read_stamp(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads(self.stamp_path.read_text(encoding="utf-8"))
            return dict(document.get("files", {}))
        except (OSError, ValueError, AttributeError):
            return {}

    def _unchanged(self, entry: DataFile, dest: Path) -> bool:
        if self.verify:
            return False
        known = self.stamp.get(entry.path)
        if not known or known.get("sha256") != entry.sha256:
            return False
        try:
            stat = dest.stat()
        except OSError:
            return False
        return (stat.st_size, stat.st_mtime_ns, stat.st_ino) == (entry.size, known.get("mtime_ns"), known.get("ino"))

    def _remember(self, entry: DataFile, dest: Path) -> None:
        stat = dest.stat()
        record = {"sha256": entry.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ino": stat.st_ino}
        if self.stamp.get(entry.path) != record:
            self.stamp[entry.path] = record
            self.stamp_dirty = True

    def _forget(self, path: str) -> None:
        if self.stamp.pop(path, None) is not None:
            self.stamp_dirty = True

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.stamp_dirty and self.target.is_dir():
            document = {
                "about": "written by python -m domain.datasets; delete it to force a rehash",
                "files": self.stamp,
            }
            _write_atomically(self.stamp_path, (json.dumps(document, indent=1, sort_keys=True) + "\n").encode())


def _shown(path: Path) -> str:
    """``path`` relative to the repository (as in ``data/sample/x.csv``) when inside it."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """``python -m domain.datasets``: materialise ``data/sample/``; exit status 1 on failure."""
    parser = argparse.ArgumentParser(
        prog="python -m domain.datasets",
        description="Materialise the data files of data/manifest.toml (copy from a mirror, else download; sha256-checked).",
    )
    parser.add_argument(
        "--mirror",
        help=f"mirror folder (make data passes ${MIRROR_ENV}; default: {DEFAULT_MIRROR} if it exists)",
    )
    parser.add_argument("--target", default=str(DEFAULT_TARGET), help="folder to fill (default: data/sample)")
    parser.add_argument("--verify", action="store_true", help="rehash every file (ignore the stamp)")
    parser.add_argument("--offline", action="store_true", help="never download; only the mirror and local recipes")
    parser.add_argument("--copy", action="store_true", help="copy from the mirror, never hard-link")
    parser.add_argument("--manifest", type=Path, default=MANIFEST_PATH, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help="only these manifest paths (default: all)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        manifest = load_manifest(args.manifest.absolute())
        outcomes = materialise(
            args.target,
            mirror=args.mirror,
            verify=args.verify,
            manifest=manifest,
            only=args.paths or None,
            download=not args.offline,
            link=not args.copy,
            log=print,
        )
    except DataFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    summary = ", ".join(f"{n} {action}" for action, n in counts.items())
    verb = "verified" if args.verify else "checked"
    print(
        f"{_shown(Path(args.target).absolute())}: {len(outcomes)} data files {verb} ({summary}) in {time.perf_counter() - started:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
