"""README.md and docs/*.md: links resolve, the README stays a front page, and their code blocks parse or run.

* Every relative link points to a file or folder of the repository; a `#anchor` into a markdown page names
  one of its headings (GitHub's slug rule).
* README.md has at most 300 lines.
* Every ```python block compiles. A block marked runnable (the line `<!-- runnable -->` directly before its
  fence) runs in a fresh interpreter from the repository root, offline, on the sample data and the test
  vocabulary, and must exit 0. At most 3 are marked: each imports TensorFlow.
* Every ```gin block, and every gin file under configs/, parses with gin's own parser.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import subprocess
import sys
from typing import Dict, List

import pytest
from gin import config_parser

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
README_MAX_LINES = 300
RUNNABLE_MARK = "<!-- runnable -->"
MAX_RUNNABLE = 3
SNIPPET_TIMEOUT_S = 300

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+|~~~+)\s*(?P<info>[^`]*?)\s*$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def pages() -> List[str]:
    return [README] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))


def rel(path: str) -> str:
    return os.path.relpath(path, REPO)


@dataclasses.dataclass(frozen=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    info: str
    text: str
    runnable: bool

    @property
    def where(self) -> str:
        return f"{rel(self.page)}:{self.line}"


def split_page(path: str):
    """(prose lines with their numbers, fenced blocks) of a markdown file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    prose, blocks = [], []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        fence, indent = match.group("fence"), len(match.group("indent"))
        closing = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
        start, body = i, []
        i += 1
        while i < len(lines) and not closing.match(lines[i]):
            line = lines[i]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            i += 1
        assert i < len(lines), f"{rel(path)}:{start + 1}: code block never closed"
        i += 1  # the closing fence
        marked = start > 0 and lines[start - 1].strip() == RUNNABLE_MARK
        blocks.append(Block(path, start + 1, match.group("info"), "\n".join(body) + "\n", marked))
    return prose, blocks


def all_blocks() -> List[Block]:
    return [block for page in pages() for block in split_page(page)[1]]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lower case, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: str) -> List[str]:
    seen: Dict[str, int] = {}
    out = []
    for _, line in split_page(path)[0]:
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        out.append(base if base not in seen else f"{base}-{seen[base]}")
        seen[base] = seen.get(base, 0) + 1
    return out


def links(path: str):
    """(line number, target) of every markdown link outside code."""
    for number, line in split_page(path)[0]:
        for match in LINK.finditer(CODE_SPAN.sub("", line)):
            yield number, match.group("target")


# ----------------------------------------------------------------------------------------------- links


@pytest.mark.parametrize("page", pages(), ids=rel)
def test_relative_links_resolve(page):
    broken = []
    for number, target in links(page):
        if SCHEME.match(target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if not os.path.exists(resolved):
            broken.append(f"{rel(page)}:{number}: {target} -> {rel(resolved)} does not exist")
        elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
            broken.append(f"{rel(page)}:{number}: {target}: no heading #{anchor} in {rel(resolved)} "
                          f"(it has: {', '.join(anchors(resolved))})")
    assert not broken, "\n".join(broken)


def test_slug_follows_github():
    assert slug("`mt0 report`") == "mt0-report"
    assert slug("xP3: train mT0 as released") == "xp3-train-mt0-as-released"
    assert slug("Converting checkpoints (T5X ⇄ Hugging Face)") == "converting-checkpoints-t5x--hugging-face"
    assert slug("2. Cache the tasks (optional)") == "2-cache-the-tasks-optional"
    assert slug("Where the prompted pipeline's time goes") == "where-the-prompted-pipelines-time-goes"


def test_readme_is_a_front_page():
    with open(README, encoding="utf-8") as f:
        count = len(f.read().splitlines())
    assert count <= README_MAX_LINES, (f"README.md has {count} lines (at most {README_MAX_LINES}): move detail "
                                       "to a page under docs/ and link it")


# ------------------------------------------------------------------------------------------ python blocks

PYTHON_BLOCKS = [b for b in all_blocks() if b.info == "python"]
RUNNABLE = [b for b in PYTHON_BLOCKS if b.runnable]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_python_block_compiles(block):
    compile(block.text, block.where, "exec")


def test_runnable_marks():
    """The mark sits only before ```python fences; few enough to stay fast; the two documented offline
    examples (a custom task from files, an xP3 mixture) stay marked."""
    for page in pages():
        with open(page, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for i, line in enumerate(lines):
            if line.strip() == RUNNABLE_MARK:
                following = lines[i + 1].strip() if i + 1 < len(lines) else ""
                assert following == "```python", f"{rel(page)}:{i + 1}: {RUNNABLE_MARK} must directly precede a ```python fence"
    assert 1 <= len(RUNNABLE) <= MAX_RUNNABLE, [b.where for b in RUNNABLE]
    assert any("custom.add_task(" in b.text for b in RUNNABLE)
    assert any("xp3.register_mixture(" in b.text and "import multilingual_t0.tasks" in b.text for b in RUNNABLE)


# Runs before the snippet: any network connection fails it (the snippets must run offline).
_OFFLINE = (
    "import socket\n"
    "def _refuse(*args, **kwargs):\n"
    "    raise OSError('network access attempted by a runnable docs snippet')\n"
    "socket.socket.connect = _refuse; socket.socket.connect_ex = _refuse; socket.create_connection = _refuse\n"
    "del socket, _refuse\n"
)


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.where)
def test_runnable_block_runs_offline(block):
    env = dict(os.environ, MT0_DATA_SOURCE="samples", MT0_VOCAB=os.environ["MT0_VOCAB"],
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    for name in ("MT0_DATA_DIR", "MT0_STRICT"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-c", _OFFLINE + block.text], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=SNIPPET_TIMEOUT_S)
    assert result.returncode == 0, (f"{block.where} exited {result.returncode} (traceback lines are offset by "
                                    f"{_OFFLINE.count(chr(10))}):\n{result.stderr[-4000:]}")


# --------------------------------------------------------------------------------------------- gin blocks


class _AcceptEverything(config_parser.ParserDelegate):
    """Parses references and macros without resolving them (nothing need be registered)."""

    def configurable_reference(self, scoped_name, evaluate):
        return ("@", scoped_name, evaluate)

    def macro(self, macro_name):
        return ("%", macro_name)


def parse_gin(text_or_file) -> list:
    return list(config_parser.ConfigParser(text_or_file, _AcceptEverything()))


GIN_BLOCKS = [b for b in all_blocks() if b.info == "gin"]
GIN_FILES = sorted(glob.glob(os.path.join(REPO, "configs", "**", "*.gin"), recursive=True))


@pytest.mark.parametrize("block", GIN_BLOCKS, ids=lambda b: b.where)
def test_gin_block_parses(block):
    assert parse_gin(block.text), f"{block.where}: no gin statement"


@pytest.mark.parametrize("path", GIN_FILES, ids=rel)
def test_config_gin_file_parses(path):
    with open(path, encoding="utf-8") as f:
        assert parse_gin(f), f"{rel(path)}: no gin statement"


def test_gin_is_checked_somewhere():
    assert GIN_BLOCKS and GIN_FILES
