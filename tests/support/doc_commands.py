"""What the documentation asks a reader to run or follow: shell commands of fenced blocks, and links.

Used by ``tests/test_documented_commands.py`` to keep README.md and docs/*.md true when followed literally.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELL_LANGUAGES = ("sh", "bash", "shell")
# The first word of a line that is a shell command whoever wrote the block; an unlabelled block holding one
# is a command the test would miss, so it must be labelled ```sh.
COMMAND_WORDS = re.compile(r"^(\.venv/bin/|python3?\b|make\b|curl\b|varnishd\b|gunicorn\b|export\b|DATAVIZ_\w+=)")
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
ENV_NAME = re.compile(r"\bDATAVIZ_[A-Z][A-Z_]*\b")
REPO_PATH = re.compile(r"(?<![\w/.$-])((?:app|etl|deploy|bench|tests|scripts|assets|callbacks|layouts|docs)/[\w./-]*\w)")
MODULE = re.compile(r"(?<![\w/.-])((?:app|etl|bench|tests|callbacks|layouts)(?:\.[A-Za-z_]\w*)+)")


@dataclass(frozen=True)
class Command:
    doc: str    # path relative to the repository, e.g. "docs/api.md"
    line: int   # 1-based line of the command's first line
    text: str   # the command, continuation lines joined

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.text}"


@dataclass(frozen=True)
class Block:
    doc: str
    line: int           # line of the opening fence
    language: str
    lines: tuple[str, ...]


def doc_paths(repo: Path) -> list[Path]:
    """README.md, then docs/*.md in name order: the order a reader meets them."""
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]


def fenced_blocks(repo: Path, path: Path) -> list[Block]:
    blocks, opened, language, body = [], None, "", []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if opened is None and fence:
            opened, language, body, marker = number, fence.group(2).lower(), [], fence.group(1)
        elif opened is not None and line.strip().startswith(marker) and not line.strip().strip(marker[0]):
            blocks.append(Block(str(path.relative_to(repo)), opened, language, tuple(body)))
            opened = None
        elif opened is not None:
            body.append(line)
    if opened is not None:
        raise ValueError(f"{path}:{opened}: code block never closed")
    return blocks


def block_commands(block: Block) -> list[Command]:
    """One command per line, lines ending in a backslash joined to the next; comment and blank lines dropped."""
    commands, pending, start = [], "", 0
    for offset, line in enumerate(block.lines, 1):
        if not pending:
            start = block.line + offset
            if not line.strip() or line.lstrip().startswith("#"):
                continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        commands.append(Command(block.doc, start, (pending + line).strip()))
        pending = ""
    return commands


def shell_commands(repo: Path) -> list[Command]:
    """Every command of every ```sh / ```bash block, in reading order."""
    return [command for path in doc_paths(repo) for block in fenced_blocks(repo, path)
            if block.language in SHELL_LANGUAGES for command in block_commands(block)]


def unlabelled_commands(repo: Path) -> list[Command]:
    """Lines of blocks with no language that read like shell commands."""
    return [Command(block.doc, block.line + offset, line.strip())
            for path in doc_paths(repo) for block in fenced_blocks(repo, path) if not block.language
            for offset, line in enumerate(block.lines, 1) if COMMAND_WORDS.match(line.strip())]


def links(repo: Path) -> list[tuple[str, int, str]]:
    """(doc, line, target) for every Markdown link outside code blocks and code spans."""
    found = []
    for path in doc_paths(repo):
        inside = False
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if FENCE.match(line):
                inside = not inside
                continue
            if not inside:
                prose = re.sub(r"`[^`]*`", "", line)
                found += [(str(path.relative_to(repo)), number, target) for target in LINK.findall(prose)]
    return found


@dataclass(frozen=True)
class Name:
    doc: str
    line: int
    kind: str   # "variable", "path" or "module"
    name: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.name}"


def _readable_lines(path: Path):
    """(line number, text, in code) for prose and for shell or unlabelled blocks; HTML, Python, JSON skipped."""
    language = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if fence:
            language = None if language is not None else fence.group(2).lower()
            continue
        if language is None:
            yield number, line, False
        elif language in ("", *SHELL_LANGUAGES):
            yield number, line, True


def named(repo: Path) -> list[Name]:
    """``DATAVIZ_*`` variables anywhere, and repository paths and Python modules in code spans and blocks."""
    found = []
    for path in doc_paths(repo):
        doc = str(path.relative_to(repo))
        for number, line, in_code in _readable_lines(path):
            found += [Name(doc, number, "variable", name) for name in ENV_NAME.findall(line)]
            code = line if in_code else " ".join(re.findall(r"`([^`]+)`", line))
            found += [Name(doc, number, "path", name) for name in REPO_PATH.findall(code)]
            found += [Name(doc, number, "module", name) for name in MODULE.findall(code)]
    return found


def module_resolves(repo: Path, dotted: str) -> bool:
    """``etl.refresh`` is a file of the repository; in ``etl.refresh.run_refresh`` the rest is a name in it."""
    parts = dotted.split(".")
    for k in range(len(parts), 1, -1):
        base = repo.joinpath(*parts[:k])
        source = base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"
        if source.exists():
            text = source.read_text()
            return all(re.search(rf"\b{re.escape(rest)}\b", text) for rest in parts[k:])
    return False


def anchors(path: Path) -> set[str]:
    """The heading anchors GitHub generates for a Markdown file (repeated headings get -1, -2...)."""
    counts: dict[str, int] = {}
    found = set()
    inside = False
    for line in path.read_text().splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if inside or not heading:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1))
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        found.add(f"{slug}-{counts[slug]}" if slug in counts else slug)
        counts[slug] = counts.get(slug, 0) + 1
    return found
