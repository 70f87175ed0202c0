"""`ruff check` over playground, tests and bench finds nothing, with the rules chosen in pyproject.toml
(where each rule family says what bug it catches). Fix a finding with `.venv/bin/ruff check --fix <file>`
or by hand; silence one only with `# noqa: <RULE>  <why>`.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["playground", "tests", "bench"]



def ruff() -> str:
    beside_python = Path(sys.executable).parent / "ruff"  # the venv's own, as installed from requirements.txt
    found = str(beside_python) if beside_python.exists() else shutil.which("ruff")
    assert found, "ruff is not installed: it is in requirements.txt, so run bin/setup"
    return found


def findings() -> list[dict]:
    done = subprocess.run(
        [ruff(), "check", "--output-format", "json", "--no-cache", *CHECKED],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode in (0, 1), f"ruff failed to run (exit {done.returncode}):\n{done.stderr}"
    return json.loads(done.stdout)


def file_of(finding: dict) -> str:
    return Path(finding["filename"]).resolve().relative_to(ROOT).as_posix()


def test_ruff_finds_nothing():
    lines = sorted(
        f"  {file_of(f)}:{f['location']['row']}:{f['location']['column']}: {f['code']} {f['message']}"
        for f in findings()
    )
    assert not lines, (
        "ruff check finds problems (rules and their reasons: pyproject.toml):\n" + "\n".join(lines) +
        "\nFix them (`.venv/bin/ruff check --fix <file>` fixes those marked fixable in `ruff check <file>`), "
        "or, where the code is right, silence that one line with `# noqa: <RULE>  <why>`."
    )
