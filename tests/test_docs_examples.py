"""The documented commands are true: every `helio …` line in docs/training.md and in the example
GitHub Actions workflow names a real command with real options, and the workflow has its shape.

Commands are resolved by walking the CLI's click command tree (not by guessing where the
command path ends), then run in-process with ``--help``. Nothing is trained, nothing touches
the network.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer
import yaml

from heliograph.cli import app, main

REPO = Path(__file__).resolve().parents[1]
TRAINING_MD = REPO / "docs" / "training.md"
WORKFLOW = REPO / "docs" / "examples" / "github-actions-model-report.yml"

_OPERATORS = {";", "&&", "||", "|", "&"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_MENTIONS_HELIO = re.compile(r"(^|[\s;&|/(])helio(\s|$)")


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps() -> list[dict]:
    (job,) = _workflow()["jobs"].values()
    return job["steps"]


def _logical_lines(script: str) -> Iterator[str]:
    """Lines of a shell script, with backslash continuations joined."""
    pending = ""
    for raw in script.splitlines():
        line = pending + raw
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        yield line
    if pending:
        yield pending


def _helio_commands(script: str) -> Iterator[tuple[str, list[str]]]:
    """(line, words after `helio`) for every invocation of helio in a shell script."""
    for line in _logical_lines(script):
        if not _MENTIONS_HELIO.search(line):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        segment: list[str] = []
        for token in [*tokens, ";"]:
            if token not in _OPERATORS:
                segment.append(token)
                continue
            words = list(segment)
            while words and _ASSIGNMENT.match(words[0]):
                words.pop(0)
            if words and (words[0] == "helio" or words[0].endswith("/helio")):
                yield line.strip(), words[1:]
            segment = []


def _documented() -> list[tuple[str, str, list[str]]]:
    found = []
    for step in _steps():
        for line, words in _helio_commands(step.get("run", "")):
            found.append((WORKFLOW.name, line, words))
    text = TRAINING_MD.read_text(encoding="utf-8")
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M):
        for line, words in _helio_commands(block):
            found.append((TRAINING_MD.name, line, words))
    return found


DOCUMENTED = _documented()
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["--help"])  # `helio` registers every command group before it runs
ROOT = typer.main.get_command(app)
_HELP = SimpleNamespace(is_flag=True, count=False)  # added by click to every command


# Typer vendors its own copy of click, so the tree is read by its attributes, not by class.
def _is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def _option(command: Any, word: str) -> Any | None:
    """The option of ``command`` that ``word`` (``--name`` or ``--name=value``) names."""
    name = word.split("=", 1)[0]
    for param in command.params:
        names = (*param.opts, *getattr(param, "secondary_opts", ()))
        if param.param_type_name == "option" and name in names:
            return param
    return _HELP if name == "--help" else None


def _resolve(words: list[str]) -> tuple[list[str], Any, list[str]]:
    """Walk the command tree: (command path, the command, options used on it).

    Options before a subcommand belong to the group they follow and are checked there.
    """
    command: Any = ROOT
    path: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-"):
            option = _option(command, word)
            where = " ".join(["helio", *path])
            assert option is not None, f"{word} is not an option of `{where}`"
            takes_value = not (option.is_flag or option.count) and "=" not in word
            i += 2 if takes_value else 1
            continue
        if _is_group(command):
            sub = command.commands.get(word)
            where = " ".join(["helio", *path])
            assert sub is not None, (
                f"`{where}` has no command {word!r}; it has {sorted(command.commands)}"
            )
            command, path = sub, [*path, word]
            i += 1
            continue
        break  # the first argument of a leaf command
    where = " ".join(["helio", *path])
    assert not _is_group(command), f"`{where}` is a group, not a command"
    used = [w for w in words[i:] if w.startswith("--")]
    return path, command, used


def test_the_workflow_runs_on_pull_requests_with_its_steps() -> None:
    workflow = _workflow()
    # YAML 1.1 reads the key `on` as the boolean True.
    trigger = workflow.get("on", workflow.get(True))
    assert "pull_request" in trigger
    assert workflow["permissions"]["pull-requests"] == "write"
    (job,) = workflow["jobs"].values()
    assert "secrets." in job["env"]["HELIO_TRACKING__URI"]
    assert "secrets." in job["env"]["HELIO_LEDGER__URL"]

    steps = _steps()
    uses = [s.get("uses", "") for s in steps]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert any(u.startswith("actions/checkout@") for u in uses)
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(python["with"]["python-version"]) == "3.11"
    assert "pip install heliograph" in runs
    assert '--reason "PR #${{ github.event.number }}"' in runs

    report = next(s for s in steps if "helio ci report" in s.get("run", ""))
    assert report["continue-on-error"] is True
    assert "--out ci-report" in report["run"] and "$GITHUB_OUTPUT" in report["run"]
    comment = next(s for s in steps if s.get("uses", "").startswith("marocchino/"))
    assert comment["uses"] == "marocchino/sticky-pull-request-comment@v2"
    assert comment["with"]["path"] == "ci-report/report.md"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"].rstrip("/") == "ci-report"

    order = [s.get("run", s.get("uses", "")) for s in steps]
    train = next(i for i, r in enumerate(order) if "helio train energy" in r)
    assert train < order.index(report["run"]) < uses.index(comment["uses"])
    last = steps[-1]
    assert last["if"] == f"steps.{report['id']}.outcome == 'failure'"
    assert "exit 1" in last["run"]


def test_commands_are_found_in_the_docs_and_the_workflow() -> None:
    sources = {source for source, _, _ in DOCUMENTED}
    assert sources == {WORKFLOW.name, TRAINING_MD.name}
    paths = {" ".join(_resolve(words)[0]) for _, _, words in DOCUMENTED}
    wanted = {"train energy", "model promote", "model rollback", "model history"}
    assert wanted | {"model list", "ci report", "ui"} <= paths


@pytest.mark.parametrize(
    ("source", "line", "words"), DOCUMENTED, ids=[f"{s}: {line}" for s, line, _ in DOCUMENTED]
)
def test_a_documented_command_exists_with_its_options(
    source: str, line: str, words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, command, used = _resolve(words)
    for word in used:
        assert _option(command, word) is not None, (
            f"{source}: `{line}`: {word.split('=')[0]} is not an option of `helio {' '.join(path)}`"
        )
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0, capsys.readouterr()
    assert f"Usage: helio {' '.join(path)}" in capsys.readouterr().out
