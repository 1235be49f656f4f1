"""The README cannot rot: its Python example runs, and CI runs its test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(lang: str, text: str | None = None) -> list[str]:
    text = README.read_text() if text is None else text
    return [body for kind, body in FENCE.findall(text) if kind == lang]


def section(title: str) -> str:
    text = README.read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def commands(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def setup_commands() -> list[str]:
    found = [cmd for block in blocks("sh", section("Set up")) for cmd in commands(block)]
    assert len(found) == 2, f"the Set up section must have exactly two commands, found {found}"
    return found


def test_python_example_runs():
    examples = blocks("python")
    assert examples, "README has no ```python block"
    for code in examples:
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})


def test_two_setup_commands_exist():
    main_job, tests = setup_commands()
    for cmd in (main_job, tests):
        argv = shlex.split(cmd)
        assert argv[0] == "bash" and (ROOT / argv[1]).is_file(), cmd
    assert "main-job" in main_job and "test" in tests


def test_ci_runs_exactly_the_readme_test_command():
    test_cmd = setup_commands()[1]
    lines = commands((ROOT / ".ci" / "run").read_text())
    # shell boilerplate aside (strict mode, cd to the repo root), .ci/run does one thing
    rest = [line for line in lines if not line.startswith("set ") and line != 'cd "$(dirname "$0")/.."']
    assert rest in ([test_cmd], [f"exec {test_cmd}"]), rest


def test_verdict_table_is_the_rendered_one():
    """The README's verdict table is diagrams/verdicts.md, with links into diagrams/."""
    rendered = (ROOT / "diagrams" / "verdicts.md").read_text().strip()
    rendered = re.sub(r"\]\((swimlane-[^)]+)\)", r"](diagrams/\1)", rendered)
    body = README.read_text()
    table = body.split("<!-- verdicts:start -->")[1].split("<!-- verdicts:end -->")[0].strip()
    assert table == rendered, "README's verdict table differs from diagrams/verdicts.md: copy it over"


def test_nothing_points_outside_the_repository():
    """Every document the project cites is in the repository (docs/), none in a sibling directory."""
    for path in [README, *(ROOT / "docs").glob("*.md"), *(ROOT / "spec").rglob("*.py"), *(ROOT / "tla").glob("*")]:
        text = path.read_text(errors="replace")
        # the sibling directory the project grew out of, spelled so that this test does not name it itself
        outside = "/".join(("..", "sha" + "red"))
        for needle in (outside, "DESIGN.md", "KERNEL.md", "seeds/0"):
            assert needle not in text, f"{path.relative_to(ROOT)} mentions {needle}"
    for doc in ("design.md", "kernel.md", "findings.md", "sources.md"):
        assert (ROOT / "docs" / doc).is_file(), doc
