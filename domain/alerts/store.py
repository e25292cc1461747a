"""The alert rules file (``ALERT_RULES_FILE``, default ``data/alerts/rules.yml``), shared by the
app's Alerts page and the pipelines' sensors and evaluation.

The file is ``{rules: [rule, ...]}`` (rules: :mod:`domain.alerts.rules`); an empty file means no
rules. Errors name the file, the rule (1-based position and id) and the field.

The rules file is user data (git-ignored). Its *example*, the tracked file beside it named
``<stem>.example<suffix>`` (:func:`example_path`: ``data/alerts/rules.example.yml``), holds the
rules the product ships. Until the rules file exists, the example's rules are the ones in force
(:func:`rules_source`): :func:`load_rules` and :func:`rules_file_fingerprint` read the example,
:func:`ensure_rules_file` copies it to the rules file (the app does on first use), and every
write starts from it. Without either file there are no rules. Nothing here writes an example
file (:class:`ExampleFileError`).

Writes (:func:`save_rules`, :func:`add_rule`, :func:`set_enabled`, :func:`delete_rule`) hold a
file lock (``.<name>.lock`` beside the file) for the whole read-modify-write, write a temporary
file in the same folder, fsync it and ``os.replace`` it over the target: readers (the sensors, the
asset) see the old or the new file, never a half-written one, and two writers never interleave.
A saved file starts with :data:`HEADER`; other YAML comments are not kept (put notes in
``description``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import yaml
from filelock import FileLock

from domain.alerts.rules import (
    AlertRule,
    RuleNotFoundError,
    RulesFileError,
    parse_rule,
    rule_location,
)
from domain.files import write_atomically

EXAMPLE_MARKER = ".example"

LOCK_TIMEOUT_S = 10.0
HEADER = (
    "# Alert rules (ALERT_RULES_FILE), evaluated after every marts build by the Dagster job\n"
    "# alerts_evaluate. The app's Alerts page rewrites this file: comments other than this header\n"
    "# are not kept (use a rule's description). Rule types and fields: README, section Alerts.\n"
)
class _RulesLoader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text for pydantic, so an impossible date
    (``2017-02-30``) is reported on its rule and field instead of failing the whole parse."""


_RulesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _duplicate_ids(rules: Sequence[tuple[int, AlertRule]], path: Path | str) -> list[str]:
    """Problems for rules (``(1-based position, rule)``) whose id an earlier one has."""
    seen: dict[str, int] = {}
    problems = []
    for index, rule in rules:
        if rule.id in seen:
            problems.append(f"{rule_location(path, index, rule.id, 'id')}: duplicate id (also rule {seen[rule.id]})")
        seen.setdefault(rule.id, index)
    return problems


def parse_rules_text(text: str, path: Path | str) -> list[AlertRule]:
    """Parse the YAML text of a rules file (``path`` is only used in errors).

    Raises:
        RulesFileError: YAML syntax (with the line), wrong layout, invalid rules, duplicate ids.
    """
    try:
        document = yaml.load(text, Loader=_RulesLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise RulesFileError(path, [f"{path}{line}: not valid YAML: {problem}"]) from None
    if document is None:
        return []
    if not isinstance(document, Mapping) or set(document) - {"rules"}:
        raise RulesFileError(path, [f"{path}: expected a mapping with one key 'rules' (a list of rules)"])
    items = document.get("rules") or []
    if not isinstance(items, list):
        raise RulesFileError(path, [f"{path}, field 'rules': must be a list of rules, got {type(items).__name__}"])
    rules, problems = [], []
    for index, item in enumerate(items, start=1):
        try:
            rules.append((index, parse_rule(item, path, index)))
        except RulesFileError as error:
            problems += error.problems
    problems += _duplicate_ids(rules, path)
    if problems:
        raise RulesFileError(path, problems)
    return [rule for _, rule in rules]


class ExampleFileError(ValueError):
    """A write aimed at an example rules file (tracked in git, never written by the product)."""


def example_path(path: Path | str) -> Path:
    """The example of the rules file ``path``: the same folder, ``.example`` before the suffix
    (``data/alerts/rules.yml`` -> ``data/alerts/rules.example.yml``)."""
    path = Path(path)
    return path.with_name(f"{path.stem}{EXAMPLE_MARKER}{path.suffix}")


def is_example(path: Path | str) -> bool:
    """Whether ``path`` names an example file (its stem ends with ``.example``)."""
    return Path(path).stem.endswith(EXAMPLE_MARKER)


def rules_source(path: Path | str) -> Path:
    """The file whose rules are in force for the rules file ``path``: ``path`` when it exists,
    else its example (:func:`example_path`) when that exists, else ``path`` (no rules)."""
    path = Path(path)
    if path.exists() or is_example(path):
        return path
    example = example_path(path)
    return example if example.exists() else path


def ensure_rules_file(path: Path | str) -> bool:
    """Create the rules file ``path`` as a byte-for-byte copy of its example when ``path`` does
    not exist yet (first use); returns whether it copied. An existing file is never touched; no
    example means nothing to copy. Atomic write under the file lock, as every write here.

    Raises:
        ExampleFileError: ``path`` is itself an example file.
        OSError: the folder cannot be written (``path`` then still does not exist).
        filelock.Timeout: another writer held the lock for more than 10 s.
    """
    path = Path(path)
    with _locked(path):
        return _seed_unlocked(path)


def load_rules(path: Path | str) -> list[AlertRule]:
    """The rules in force for the rules file ``path``, in file order: the file's, or its
    example's while the file does not exist (:func:`rules_source`); neither means no rules.

    Lock-free: writers replace the file atomically, so a read sees a whole file.

    Raises:
        RulesFileError: see :func:`parse_rules_text` (naming the file that was read).
    """
    path = rules_source(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return parse_rules_text(text, path)


def rules_file_fingerprint(path: Path | str) -> str:
    """SHA-256 of the bytes of the rules in force (:func:`rules_source`; ``missing`` when there is
    no file): the sensor's cursor. The first-use copy keeps the bytes, hence the fingerprint."""
    try:
        return hashlib.sha256(rules_source(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return "missing"


def render_rules(rules: Sequence[AlertRule]) -> str:
    """The YAML text :func:`save_rules` writes (:data:`HEADER`, then ``rules:``)."""
    body = yaml.safe_dump({"rules": [rule.to_yaml_dict() for rule in rules]}, sort_keys=False,
                          allow_unicode=True, default_flow_style=None, width=100)  # fmt: skip
    return HEADER + body


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    if is_example(path):
        own = path.with_name(path.name.replace(EXAMPLE_MARKER, "", 1))
        raise ExampleFileError(
            f"{path}: is an example rules file (tracked in git) and is never written; "
            f"set ALERT_RULES_FILE to a file of your own, e.g. {own}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(f".{path.name}.lock"), timeout=LOCK_TIMEOUT_S):
        yield


def _seed_unlocked(path: Path) -> bool:
    example = example_path(path)
    if path.exists() or not example.exists():
        return False
    write_atomically(path, example.read_bytes())
    return True


def _save_unlocked(path: Path, rules: Sequence[AlertRule]) -> None:
    problems = _duplicate_ids(list(enumerate(rules, start=1)), path)
    if problems:
        raise RulesFileError(path, problems)
    text = render_rules(rules)
    parse_rules_text(text, path)  # what is written must load back
    write_atomically(path, text.encode("utf-8"))


def save_rules(path: Path | str, rules: Sequence[AlertRule]) -> None:
    """Replace the file's rules with ``rules`` (atomic write, under the file lock).

    Raises:
        RulesFileError: duplicate ids (nothing is written).
        ExampleFileError: ``path`` is an example file.
        filelock.Timeout: another writer held the lock for more than 10 s.
    """
    path = Path(path)
    with _locked(path):
        _save_unlocked(path, rules)


def add_rule(path: Path | str, rule: AlertRule) -> AlertRule:
    """Append ``rule`` (``created_at`` set to now, UTC, when missing) and return it as saved.
    While the file does not exist, the example's rules come first (see the module docstring).

    Raises:
        RulesFileError: the file is invalid, or a rule with this id exists (nothing is written).
        ExampleFileError: ``path`` is an example file.
    """
    path = Path(path)
    if rule.created_at is None:
        rule = rule.model_copy(update={"created_at": datetime.now(timezone.utc).replace(microsecond=0)})
    with _locked(path):
        rules = load_rules(path)
        if any(existing.id == rule.id for existing in rules):
            raise RulesFileError(path, [f"{rule_location(path, None, rule.id, 'id')}: a rule with this id already exists"])
        _save_unlocked(path, [*rules, rule])
    return rule


def set_enabled(path: Path | str, rule_id: str, enabled: bool) -> AlertRule:
    """Pause (``enabled=False``) or resume a rule; returns the updated rule.

    Raises:
        RuleNotFoundError: no rule ``rule_id``.
        RulesFileError: the file is invalid.
        ExampleFileError: ``path`` is an example file.
    """
    path = Path(path)
    with _locked(path):
        rules = load_rules(path)
        if not any(rule.id == rule_id for rule in rules):
            raise RuleNotFoundError(f"{path}: no rule with id {rule_id!r}")
        updated = [rule.model_copy(update={"enabled": enabled}) if rule.id == rule_id else rule for rule in rules]
        _save_unlocked(path, updated)
    return next(rule for rule in updated if rule.id == rule_id)


def delete_rule(path: Path | str, rule_id: str) -> None:
    """Remove a rule from the file (its events stay in ``marts.alert_events``).

    Raises:
        RuleNotFoundError: no rule ``rule_id``.
        RulesFileError: the file is invalid.
        ExampleFileError: ``path`` is an example file.
    """
    path = Path(path)
    with _locked(path):
        rules = load_rules(path)
        kept = [rule for rule in rules if rule.id != rule_id]
        if len(kept) == len(rules):
            raise RuleNotFoundError(f"{path}: no rule with id {rule_id!r}")
        _save_unlocked(path, kept)
