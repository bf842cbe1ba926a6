"""Read a stack of gin files the way T5X will, without importing anything: macros, references, imports.

Uses gin's own parser (`gin.config_parser`) on each file, follows `include` through the search paths
in order (as `gin.add_config_file_search_path`), then applies `--gin.NAME=VALUE` overrides. This lets
tests and users check that every macro a T5X run config marks `%gin.REQUIRED` is bound, and which
task, vocabulary and checkpoint a run will use, on a machine without T5X.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, Iterator, List, Sequence, Set, Tuple

from gin import config_parser

REQUIRED = "gin.REQUIRED"


@dataclasses.dataclass(frozen=True)
class Reference:
    """`@name` or `@name()` (evaluate=True)."""

    name: str
    evaluate: bool


@dataclasses.dataclass(frozen=True)
class Macro:
    """`%name`."""

    name: str


class _Delegate(config_parser.ParserDelegate):
    def configurable_reference(self, scoped_name, evaluate):
        return Reference(scoped_name, evaluate)

    def macro(self, macro_name):
        return Macro(macro_name)


@dataclasses.dataclass
class GinStack:
    """The combined effect of some gin files and overrides (later statements win)."""

    macros: Dict[str, Any] = dataclasses.field(default_factory=dict)
    bindings: Dict[Tuple[str, str, str], Any] = dataclasses.field(default_factory=dict)
    imports: List[str] = dataclasses.field(default_factory=list)
    files: List[str] = dataclasses.field(default_factory=list)

    def macros_used(self) -> Set[str]:
        """Every `%NAME` in a binding or macro value (gin.REQUIRED excluded)."""
        used = set()
        for value in list(self.macros.values()) + list(self.bindings.values()):
            used |= {m.name for m in _walk(value) if isinstance(m, Macro)}
        return used - {REQUIRED}

    def unbound(self) -> List[str]:
        """Macros still `%gin.REQUIRED`, or used but never bound: what T5X would refuse to run with."""
        required = {name for name, v in self.macros.items() if v == Macro(REQUIRED)}
        return sorted(required | (self.macros_used() - set(self.macros)))

    def value(self, selector: str, arg: str = "", scope: str = "") -> Any:
        return self.macros[selector] if not arg else self.bindings[(scope, selector, arg)]


def _walk(value) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(k)
            yield from _walk(v)
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            yield from _walk(v)


def find_file(name: str, search_paths: Sequence[str]) -> str:
    """The first `<search path>/<name>` that exists (an absolute name as is)."""
    if os.path.isabs(name):
        candidates = [name]
    else:
        candidates = [os.path.join(p, name) for p in search_paths]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"gin file {name!r} not found; tried: {', '.join(candidates)}. "
                            "Add the folder holding it to the search paths (T5X: --gin_search_paths).")


def _apply(stack: GinStack, text_or_file, search_paths: Sequence[str]) -> None:
    for statement in config_parser.ConfigParser(text_or_file, _Delegate()):
        if isinstance(statement, config_parser.IncludeStatement):
            load(statement.filename, search_paths, stack)
        elif isinstance(statement, config_parser.ImportStatement):
            stack.imports.append(statement.module)
        elif isinstance(statement, config_parser.BindingStatement):
            if not statement.arg_name and not statement.scope:
                stack.macros[statement.selector] = statement.value
            else:
                stack.bindings[(statement.scope, statement.selector, statement.arg_name)] = statement.value


def load(name: str, search_paths: Sequence[str], stack: GinStack) -> GinStack:
    path = find_file(name, search_paths)
    stack.files.append(path)
    with open(path, encoding="utf-8") as f:
        _apply(stack, f, search_paths)
    return stack


def resolve(gin_files: Sequence[str], search_paths: Sequence[str], overrides: Sequence[str] = ()) -> GinStack:
    """Parse `gin_files` in order, then `overrides` (`NAME=VALUE` bindings as given to --gin.NAME)."""
    stack = GinStack()
    for name in gin_files:
        load(name, search_paths, stack)
    for binding in overrides:
        _apply(stack, binding, search_paths)
    return stack


def from_command(argv: Sequence[str], default_search_paths: Sequence[str] = ()) -> Tuple[List[str], List[str], List[str]]:
    """(gin files, search paths, overrides) from a T5X command line (`--gin.X=V` / `--gin_bindings=`)."""
    files, paths, binds = [], [], []
    for arg in argv:
        if arg.startswith("--gin_file="):
            files.append(arg.split("=", 1)[1])
        elif arg.startswith("--gin_search_paths="):
            paths += arg.split("=", 1)[1].split(",")
        elif arg.startswith("--gin."):
            binds.append(arg[len("--gin."):].replace("=", " = ", 1))
        elif arg.startswith("--gin_bindings="):
            binds.append(arg.split("=", 1)[1])
    return files, paths + list(default_search_paths), binds


def to_gin(value: Any) -> str:
    """A parsed value written back as gin text (`%MACRO`, `@name()`, Python literals)."""
    if isinstance(value, Macro):
        return f"%{value.name}"
    if isinstance(value, Reference):
        return f"@{value.name}()" if value.evaluate else f"@{value.name}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_gin(k)}: {to_gin(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_gin(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(to_gin(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)
