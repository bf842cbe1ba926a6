#!/usr/bin/env python3
"""Write multilingual_t0/data/t5x_names.csv from a T5X checkout, and re-check multilingual_t0/jobs/t5x_pin.py.

    git clone https://github.com/google-research/t5x /tmp/t5x && git -C /tmp/t5x checkout <T5X_COMMIT>
    python scripts/refresh_t5x_names.py --t5x-dir /tmp/t5x            # rewrite the table
    python scripts/refresh_t5x_names.py --t5x-dir /tmp/t5x --check    # exit 1 if it is stale

The table has one row per name our gin files could bind or include:
* kind `class` / `function`: every top-level class and function of T5X's modules (`t5x/*.py`,
  `t5x/examples/t5/network.py`), with its parameters (dataclass fields and `__init__`/call arguments).
  With gin's dynamic registration any of them is configurable, so this is what a selector may name.
* kind `macro`: each macro a T5X gin file (runs/, examples/t5/mt5/) binds, with its final gin value.
* kind `include`: which T5X gin file includes which.
T5X's source is read with `ast` and gin's own parser; nothing of T5X is imported or copied.
"""

from __future__ import annotations

import argparse
import ast
import csv
import glob
import io
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from gin import config_parser  # noqa: E402

from multilingual_t0.jobs import gin_macros, t5x_pin  # noqa: E402

COLUMNS = ("file", "name", "kind", "value")
PYTHON_SOURCES = ("t5x/*.py", "t5x/examples/t5/network.py")
GIN_SOURCES = ("t5x/configs/runs/*.gin", "t5x/examples/t5/mt5/*.gin")


def _parameters(node: ast.AST) -> list:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
        return [n for n in names if n not in ("self", "cls")]
    params = []
    for item in node.body:  # dataclass / flax fields, then __init__ arguments
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            params.append(item.target.id)
        elif isinstance(item, ast.FunctionDef) and item.name == "__init__":
            params += _parameters(item)
    return list(dict.fromkeys(params))


def python_rows(t5x_dir: str) -> list:
    rows = []
    for pattern in PYTHON_SOURCES:
        for path in sorted(glob.glob(os.path.join(t5x_dir, pattern))):
            if path.endswith("_test.py"):
                continue
            rel = os.path.relpath(path, t5x_dir)
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), filename=rel)
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    kind = "class" if isinstance(node, ast.ClassDef) else "function"
                    rows.append((rel, node.name, kind, " ".join(_parameters(node))))
    return rows


def gin_rows(t5x_dir: str) -> list:
    rows = []
    for pattern in GIN_SOURCES:
        for path in sorted(glob.glob(os.path.join(t5x_dir, pattern))):
            rel = os.path.relpath(path, t5x_dir)
            macros = {}
            with open(path, encoding="utf-8") as f:
                parser = config_parser.ConfigParser(f, gin_macros._Delegate())
                for st in parser:
                    if isinstance(st, config_parser.IncludeStatement):
                        rows.append((rel, st.filename, "include", ""))
                    elif (isinstance(st, config_parser.BindingStatement)
                          and not st.arg_name and not st.scope):
                        macros[st.selector] = gin_macros.to_gin(st.value)  # the last binding wins, as in gin
            rows += [(rel, name, "macro", value) for name, value in macros.items()]
    return rows


def render(rows: list) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def check_facts(t5x_dir: str) -> list:
    """Problems with t5x_pin's facts, read again from the checkout."""
    problems = []
    rel, selector, arg = t5x_pin.MT5_VOCAB_SIZE_SOURCE
    stack = gin_macros.resolve([rel], [t5x_dir])
    if stack.bindings.get(("", selector, arg)) != t5x_pin.MT5_VOCAB_SIZE:
        problems.append(f"{rel}: {selector}.{arg} is {stack.bindings.get(('', selector, arg))!r}, "
                        f"t5x_pin.MT5_VOCAB_SIZE is {t5x_pin.MT5_VOCAB_SIZE}")
    with open(os.path.join(t5x_dir, t5x_pin.MODELS_DOC), encoding="utf-8") as f:
        doc = f.read()
    for size in ("small", "base", "large", "xl", "xxl"):
        path = t5x_pin.MT5_LM_ADAPTED_CHECKPOINT.format(size=size)
        tail = path.split("pretrained_models/t5x/", 1)[1]
        if tail not in doc or not path.endswith(f"checkpoint_{t5x_pin.MT5_LM_ADAPTED_STEP}"):
            problems.append(f"{t5x_pin.MODELS_DOC} does not list {path}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t5x-dir", required=True, help="a T5X checkout (git clone of google-research/t5x)")
    parser.add_argument("--out", default=t5x_pin.NAMES_TABLE)
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.t5x_dir, "t5x", "configs", "runs", "finetune.gin")):
        parser.error(f"--t5x-dir {args.t5x_dir!r} is not a T5X checkout (no t5x/configs/runs/finetune.gin)")
    head = subprocess.run(["git", "-C", args.t5x_dir, "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0 and head.stdout.strip() != t5x_pin.T5X_COMMIT:
        print(f"warning: {args.t5x_dir} is at {head.stdout.strip()}, t5x_pin.T5X_COMMIT is {t5x_pin.T5X_COMMIT}",
              file=sys.stderr)
    problems = check_facts(args.t5x_dir)
    for problem in problems:
        print(f"t5x_pin.py is out of date: {problem}", file=sys.stderr)
    text = render(python_rows(args.t5x_dir) + gin_rows(args.t5x_dir))
    if args.check:
        with open(args.out, encoding="utf-8") as f:
            stale = f.read() != text
        if stale:
            print(f"{args.out} is out of date: run {sys.argv[0]} --t5x-dir {args.t5x_dir}", file=sys.stderr)
        return 1 if stale or problems else 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}: {text.count(chr(10)) - 1} rows", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
