"""The README and docs/ say only what is true: every link and every repository path they name
exists, every `translocal` command and option they show is one `translocal --help` lists, and
the example config loads with the variables deploy/.env.example names.

A newcomer follows these pages word for word; a stale path or a command that was renamed is
the first thing they hit, so the pages are checked like code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import cli
from bridge.config.load import load_config
from tests.deploy.test_deploy import _names
from tests.helpers import ROOT, TOKEN

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]

# Files the pages tell the operator to create: named, but not in the repository.
WRITTEN_BY_THE_OPERATOR = {"deploy/translocal.yaml", "deploy/.env", "deploy/translocal.env"}
# A path in backticks that starts with one of these folders is a repository path.
# config/ is gone (its files moved to bridge/examples/): any path in it is stale.
TOP_FOLDERS = "bots|bridge|config|translation|sandbox|tests|bench|deploy|docs"
_REPO_PATH = re.compile(rf"(?<![\w./-])((?:{TOP_FOLDERS})/[\w./-]+)")

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_SPAN = re.compile(r"`([^`\n]+)`")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


def _relative_links(page: Path) -> Iterator[str]:
    text = _FENCE.sub("", page.read_text())
    for match in _LINK.finditer(text):
        target = match.group(1)
        if not re.match(r"^[a-z][a-z+.-]*:", target):  # not https:, mailto:, ...
            yield target


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_points_to_a_file_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in _relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.is_relative_to(ROOT) or not file.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_repository_path_in_backticks_exists(page: Path) -> None:
    """`config/example.yaml` moved to bridge/examples/: such a path must follow the move."""
    text = page.read_text()
    named = {m.group(1) for m in _SPAN.finditer(_FENCE.sub("", text))}
    named |= set(_REPO_PATH.findall(text))
    stale = sorted(
        path
        for path in named
        if _REPO_PATH.fullmatch(path)
        and path.rstrip(".") not in WRITTEN_BY_THE_OPERATOR
        and not (ROOT / path.rstrip(".")).exists()
    )
    assert stale == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_points_outside_the_repository(page: Path) -> None:
    text = page.read_text()
    assert "design.md" not in text
    assert "../shared" not in text
    assert "config/demo.yaml" not in text
    assert "translocal.env.example" not in text


# --- the commands ----------------------------------------------------------------------------


def _help(*words: str) -> str:
    result = CliRunner().invoke(cli, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _section(help_text: str, title: str) -> str:
    match = re.search(rf"^{title}:\n(.*?)(?:\n\S|\Z)", help_text, re.M | re.S)
    return match.group(1) if match else ""


def _commands(help_text: str) -> set[str]:
    return set(re.findall(r"^  ([a-z][\w-]*)", _section(help_text, "Commands"), re.M))


def _options(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", _section(help_text, "Options")))


GLOBAL_OPTIONS = _options(_help())
GLOBAL_WITH_VALUE = {"-c", "--config", "--log-level"}


def _command_lines(page: Path) -> Iterator[str]:
    """Each shell line of a code block (continuations joined, comments cut), and each code
    span, where `translocal` is the program run: at the start, after `&&` or `;`, or as a
    path ending in /bin/translocal."""
    text = page.read_text()
    chunks: list[str] = []
    for block in _FENCE.findall(text):
        chunks += [line.split(" #", 1)[0] for line in block.replace("\\\n", " ").splitlines()]
    chunks += [span.replace("\\|", "|") for span in _SPAN.findall(_FENCE.sub("", text))]
    starts = re.compile(r"(?:^\s*(?:\$ )?|&&\s*|;\s*|\S*/bin/)translocal\s+(.*?)(?=&&|;|$)")
    for chunk in chunks:
        for match in starts.finditer(chunk):
            yield match.group(1).strip()


def _check_command(line: str) -> list[str]:
    words = line.split()
    while words and words[0].startswith("-"):  # global options before the command
        words = words[2:] if words[0] in GLOBAL_WITH_VALUE else words[1:]
    if not words or not re.fullmatch(r"[a-z][\w|-]*", words[0]):
        return []
    name, rest = words[0], words[1:]
    top = _commands(_help())
    if name not in top:
        return [f"translocal {name}: not a command of `translocal --help` ({line})"]
    help_text = _help(name)
    problems = []
    subs = _commands(help_text)
    choices = re.search(r"\{([\w|]+)\}", help_text.splitlines()[0])
    if (subs or choices) and rest and not rest[0].startswith("-"):
        known = subs or set(choices.group(1).split("|") if choices else ())
        for sub in rest[0].strip("[]").split("|"):
            if sub not in known and not re.fullmatch(r"[A-Z]+", sub):
                problems.append(f"translocal {name} {sub}: not listed ({line})")
        if subs and rest[0] in subs:
            help_text = _help(name, rest[0])
    known_options = _options(help_text) | GLOBAL_OPTIONS
    for option in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", line):
        if option not in known_options:
            problems.append(f"translocal {name}: no option {option} ({line})")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_translocal_command_shown_is_listed_by_help(page: Path) -> None:
    lines = list(_command_lines(page))
    problems = [problem for line in lines for problem in _check_command(line)]
    assert problems == []


def test_the_readme_names_every_command_translocal_help_lists() -> None:
    named = {line.split()[0] for line in _command_lines(README) if line.split()}
    assert _commands(_help()) - named == set()


def test_the_command_check_catches_a_renamed_command_and_option() -> None:
    """The checker itself: a command or an option that does not exist is reported."""
    assert _check_command("deadletter list -c x.yaml")
    assert _check_command("callouts remove ID")
    assert _check_command("run --workers 4")
    assert _check_command("deadletters purge ID")
    assert _check_command("-c t.yaml callouts list") == []
    assert _check_command("callouts add --circle housing --at X --text T --language en") == []


def test_the_readme_keeps_both_quick_start_commands() -> None:
    text = README.read_text()
    assert "./quickstart demo     # runs `translocal demo`: the whole network on this machine" in (
        text
    )
    assert "./quickstart test     # runs ruff, ruff format --check, mypy and the test suite" in (
        text
    )


# --- the example config --------------------------------------------------------------------


def _dummy(name: str) -> str:
    if name.endswith("_URL"):
        return "http://127.0.0.1:5000"
    if "TELEGRAM_TOKEN" in name:
        return TOKEN
    return f"test-value-for-{name.lower()}"


def test_the_example_config_loads_with_the_variables_the_env_example_lists() -> None:
    env = {name: _dummy(name) for name in _names(ROOT / "deploy" / ".env.example")}
    loaded = load_config(ROOT / "bridge" / "examples" / "example.yaml", env=env)
    assert [room.id for room in loaded.config.rooms] == ["cdmx", "berlin", "nyc"]
    assert loaded.warnings == []
