"""Which codes a lint run reports, from the command line and ``[tool.hookpipe.lint]``.

The nearest ``pyproject.toml`` above each linted file supplies ``select``,
``ignore`` and ``warnings-as-errors``; a flag given on the command line replaces
the file's value for that key. Selectors are code prefixes (``HP1``, ``HP101``) or
``ALL``. They choose among warnings only: compiler errors are always reported,
because a file that ``hookpipe check`` rejects must never pass the lint.

``pyproject.toml`` is the only file read (there is no ``hookpipe.toml``), and
``[tool.hookpipe]`` holds only the ``lint`` table: any other key there (a lint key
written one level too high, say) is an error, not silently ignored.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from hookpipe.fileaccess import MAX_CONFIG_BYTES, Refused, display_name, read_bytes
from hookpipe.lint.codes import CODES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_KEYS = {"select", "ignore", "warnings-as-errors"}
#: The tables of ``[tool.hookpipe]``: any other key there is a configuration error.
_TABLES = {"lint"}


class ConfigError(ValueError):
    """A bad selector or ``[tool.hookpipe.lint]`` table: a usage error (exit 2)."""


@dataclass(frozen=True, slots=True)
class Selection:
    """The warnings enabled for one file and whether they fail the run."""

    enabled: frozenset[str]
    warnings_as_errors: bool

    def reports(self, code: str, severity: str) -> bool:
        return severity == "error" or code in self.enabled


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the command line said; None means "not given, use the file's value"."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    warnings_as_errors: bool | None = None


def expand(selectors: Sequence[str], where: str) -> frozenset[str]:
    """The warning codes a list of selectors names; an unknown selector is a ConfigError.

    Example:
        >>> sorted(expand(["HP10"], "--select"))[:2]
        ['HP101', 'HP102']
    """
    found: set[str] = set()
    for raw in selectors:
        selector = raw.strip().upper()
        if not selector:
            continue
        matched = [c.code for c in CODES if selector == "ALL" or c.code.startswith(selector)]
        if not matched:
            raise ConfigError(f"{where}: unknown code `{raw}` (codes are {code_ranges()}; "
                              "selectors are codes, their prefixes such as `HP1`, or `ALL`)")
        found.update(c for c in matched if c.startswith("HP1"))
    return frozenset(found)


def code_ranges(severity: str | None = None) -> str:
    """The codes hookpipe reports (of one ``severity``), as runs of consecutive numbers, from the codes table.

    Example:
        >>> code_ranges("warning")
        'HP101-HP113'
    """
    runs: list[list[str]] = []
    for code in (c.code for c in CODES if severity is None or c.severity == severity):
        last = runs[-1][-1] if runs else None
        if last is not None and last[:3] == code[:3] and int(code[2:]) == int(last[2:]) + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    parts = [run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def split(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """``--select HP101,HP102 --select HP103`` -> ("HP101", "HP102", "HP103")."""
    if values is None:
        return None
    return tuple(part for value in values for part in value.split(",") if part.strip())


def nearest_pyproject(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=None)
def _table(pyproject: Path) -> dict[str, Any]:
    shown = display_name(pyproject)
    try:
        data = tomllib.loads(read_bytes(pyproject, pyproject.parent.resolve(), MAX_CONFIG_BYTES).decode("utf-8"))
    except Refused as exc:
        raise ConfigError(f"{shown}: the file {exc.reason}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: the file is not valid UTF-8 (byte {exc.start})") from exc
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError(f"{shown}: cannot read it: not valid TOML: {str(exc)[:200]}") from exc
    table: Any = data
    for depth, key in enumerate(("tool", "hookpipe", "lint")):
        table = table.get(key, {})
        if not isinstance(table, dict):
            name = ".".join(("tool", "hookpipe", "lint")[: depth + 1])
            raise ConfigError(f"{shown}: [{name}] must be a table, not {_toml_type(table)}")
        if key == "hookpipe":
            _known_tables(shown, table)
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{shown}: unknown key `{_cut(unknown[0])}` in [tool.hookpipe.lint] "
                          f"(known: {', '.join(sorted(_KEYS))})")
    for key in ("select", "ignore"):
        value = table.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{shown}: `{key}` in [tool.hookpipe.lint] must be a list of codes")
    if not isinstance(table.get("warnings-as-errors", False), bool):
        raise ConfigError(f"{shown}: `warnings-as-errors` in [tool.hookpipe.lint] must be true or false")
    return table


def _known_tables(shown: str, table: dict[str, Any]) -> None:
    """A key of ``[tool.hookpipe]`` other than its tables is a mistake, most often a lint key one level up.

    ``[tool.hookpipe]`` with ``ignore = [...]`` would otherwise be silently ignored,
    and the run would report what the team meant to leave out.
    """
    unknown = sorted(set(table) - _TABLES)
    if not unknown:
        return
    key = _cut(unknown[0])
    if key in _KEYS:
        meant = f"`{key}` belongs in [tool.hookpipe.lint]: write the table header `[tool.hookpipe.lint]` above it"
    else:
        meant = f"hookpipe reads only the table {', '.join(f'[tool.hookpipe.{t}]' for t in sorted(_TABLES))}"
    raise ConfigError(f"{shown}: unknown key `{key}` in [tool.hookpipe] ({meant})")


def _cut(key: str, limit: int = 80) -> str:
    """A TOML key as quoted in an error: at most ``limit`` characters (a key may be any length)."""
    return key if len(key) <= limit else key[:limit] + "..."


def _toml_type(value: object) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "an array"}.get(
        type(value), "a value")


@lru_cache(maxsize=None)
def _selection(pyproject: Path | None, overrides: Overrides) -> Selection:
    table = _table(pyproject) if pyproject is not None else {}
    where = f"{pyproject} [tool.hookpipe.lint]" if pyproject is not None else "--select"
    select = overrides.select if overrides.select is not None else table.get("select")
    ignore = overrides.ignore if overrides.ignore is not None else table.get("ignore")
    enabled = expand(select if select is not None else ["ALL"],
                     "--select" if overrides.select is not None else where)
    enabled -= expand(ignore or [], "--ignore" if overrides.ignore is not None else where)
    strict = overrides.warnings_as_errors
    if strict is None:
        strict = bool(table.get("warnings-as-errors", False))
    return Selection(frozenset(enabled), strict)


@lru_cache(maxsize=None)
def _pyproject_of(folder: str) -> Path | None:
    return nearest_pyproject(Path(folder).resolve())


def selection_for(file: str, overrides: Overrides) -> Selection:
    """The selection that applies to ``file`` (cached per folder and per pyproject.toml)."""
    return _selection(_pyproject_of(os.path.abspath(os.path.dirname(file) or ".")), overrides)


def clear_caches() -> None:
    """Forget read configuration: each lint run reads pyproject.toml files afresh."""
    for cached in (_table, _selection, _pyproject_of):
        cached.cache_clear()
