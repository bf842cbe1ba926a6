"""The package's layers (docs/design.md): every import of a package module runs downward.

Reads the source (imports inside functions count too); runs nothing of the package.
"""

import ast
import os

import pytest

PACKAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "multilingual_t0")
# Lowest first. A module may import its own folder or a lower rank; folders of the same rank stay apart.
LAYERS = (
    ("errors", "settings"),
    ("catalog",),
    ("sources",),
    ("prompting",),
    ("pipeline",),
    ("registry",),
    ("evaluation", "jobs", "convert"),
    ("tasks",),
    ("cli",),
    ("__main__",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
MAX_TOP_LEVEL = 12  # modules and folders directly under multilingual_t0/ (issue 19)


def _modules():
    out = {}
    for folder, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = [d for d in dirs if d not in ("data", "__pycache__")]
        for name in files:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), PACKAGE_DIR)[:-3].split(os.sep)
                out[tuple(p for p in rel if p != "__init__")] = os.path.join(folder, name)
    return out


MODULES = _modules()


def _imports(parts, path):
    """Package-relative parts of every package module `path` imports."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = list(parts) if path.endswith("__init__.py") else list(parts[:-1])
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(["multilingual_t0"] + anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            if name == "multilingual_t0" or not name.startswith("multilingual_t0."):
                continue
            target = tuple(name.split(".")[1:])
            while target and target not in MODULES:
                target = target[:-1]
            if target:
                found.append(target)
    return found


def _layer(parts):
    return parts[0]


def test_every_module_belongs_to_a_layer():
    assert not [p for p in MODULES if p and _layer(p) not in RANK]


@pytest.mark.parametrize("parts", sorted(p for p in MODULES if p), ids=lambda p: ".".join(p))
def test_imports_run_downward(parts):
    here = _layer(parts)
    wrong = []
    for target in _imports(parts, MODULES[parts]):
        there = _layer(target)
        if there == here or RANK[there] < RANK[here]:
            continue
        wrong.append(".".join(target))
    assert not wrong, f"multilingual_t0.{'.'.join(parts)} imports upward or sideways: {wrong}"


def test_top_level_is_small():
    top = {p[0] for p in MODULES if p and p[0] != "__main__"}
    assert len(top) <= MAX_TOP_LEVEL, sorted(top)
    folders = [p for p in top if os.path.isdir(os.path.join(PACKAGE_DIR, p))]
    assert len(folders) >= 5


def test_the_rule_catches_an_upward_import(tmp_path):
    """The check itself bites: a catalog module importing the registry is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from multilingual_t0.registry import naming\n")
    targets = _imports(("catalog", "bad"), str(bad))
    assert targets == [("registry", "naming"), ("registry",)]
    assert RANK[_layer(targets[0])] > RANK["catalog"]
