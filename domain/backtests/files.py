"""The strategy files of a folder (``STRATEGIES_DIR``, default ``data/strategies``): list them,
save one.

A strategy file is ``<name>.yml`` (UTF-8 YAML, :func:`~domain.backtests.spec.dump_strategy`)
where ``<name>`` is the strategy's own ``name`` field (1-80 letters, digits, ``_``, ``-`` or
``.``, starting with a letter or digit: no folder, no path). Saving validates first and writes
atomically (:func:`domain.files.write_atomically`: a temporary ``.<name>.yml.<random>.tmp``
beside it, fsynced, then ``os.replace``), so a reader (the app, the pipelines) sees the old file
or the new one, never a part; an invalid strategy writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from domain.backtests.spec import StrategySpec, dump_strategy, strategy_from_mapping
from domain.files import write_atomically

#: File name endings of strategy files.
SUFFIXES = (".yml", ".yaml")


def list_strategies(directory: Path) -> list[Path]:
    """The strategy files of ``directory`` (``*.yml`` and ``*.yaml``, not hidden: the temporary
    files of a write start with ``.``), sorted by file name; ``[]`` when the folder does not exist.

    The files are not read: a file may still be invalid (:func:`~domain.backtests.spec.load_strategy`
    says why).
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()]
    return sorted(found, key=lambda p: p.name)


def strategy_file(directory: Path, name: str) -> Path:
    """The path a strategy named ``name`` is saved to: ``directory/<name>.yml``."""
    return Path(directory) / f"{name}.yml"


def save_strategy(directory: Path, strategy: StrategySpec | Mapping[str, Any]) -> Path:
    """Validate ``strategy`` and write it to ``directory/<name>.yml`` atomically (see the module
    docstring); an existing file of that name is replaced, the folder is created when missing.

    Args:
        directory: the strategies folder.
        strategy: a spec, or plain data (a parsed YAML document, the app's form) validated with
            :func:`~domain.backtests.spec.strategy_from_mapping`.

    Returns:
        The written path; :func:`~domain.backtests.spec.load_strategy` reads it back to a spec
        equal to the one validated.

    Raises:
        StrategyError: the strategy is invalid, its name included (names the future file, the
            field and the problem); nothing is written.
        OSError: the folder or file cannot be written (an existing file is then unchanged).
    """
    directory = Path(directory)
    if isinstance(strategy, StrategySpec):
        spec = strategy
    else:
        name = strategy.get("name") if isinstance(strategy, Mapping) else None
        source = strategy_file(directory, name) if isinstance(name, str) and name else directory / "<unnamed>.yml"
        spec = strategy_from_mapping(strategy, str(source))
    return write_atomically(strategy_file(directory, spec.name), dump_strategy(spec).encode("utf-8"))


__all__ = ["SUFFIXES", "list_strategies", "save_strategy", "strategy_file"]
