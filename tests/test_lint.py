"""`ruff check` over playground, tests and bench finds nothing, with the rules chosen in pyproject.toml
(where each rule family says what bug it catches).

Findings present when this test was written are counted per file and rule in KNOWN, which may only
shrink: a new finding fails, and so does a KNOWN count that is now too high (lower it, or delete the
entry). Fix a finding with `.venv/bin/ruff check --fix <file>` (only files you are changing) or by
hand; silence one only with `# noqa: <RULE>  <why>`.
"""

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["playground", "tests", "bench"]

# {(file, rule): findings}; to be emptied (issue 8), then this test is the plain "ruff is clean" check.
KNOWN: dict[tuple[str, str], int] = {
    ("bench/dispatch.py", "B905"): 1,
    ("bench/dispatch.py", "RUF100"): 1,
    ("playground/providers/client.py", "UP035"): 1,
    ("playground/providers/parse.py", "UP035"): 1,
}


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


def test_ruff_finds_nothing_new():
    found = findings()
    counts = Counter((file_of(f), f["code"]) for f in found)
    over = {key for key, n in counts.items() if n > KNOWN.get(key, 0)}
    lines = sorted(
        f"  {file_of(f)}:{f['location']['row']}:{f['location']['column']}: {f['code']} {f['message']}"
        for f in found if (file_of(f), f["code"]) in over
    )
    assert not lines, (
        "ruff check finds problems (rules and their reasons: pyproject.toml):\n" + "\n".join(lines) +
        "\nFix them (`.venv/bin/ruff check --fix <file>` fixes those marked fixable in `ruff check <file>`), "
        "or, where the code is right, silence that one line with `# noqa: <RULE>  <why>`."
    )


def test_known_findings_are_still_there():
    counts = Counter((file_of(f), f["code"]) for f in findings())
    stale = {key: counts.get(key, 0) for key, n in KNOWN.items() if counts.get(key, 0) < n}
    assert not stale, (
        "Fewer ruff findings than KNOWN in tests/test_lint.py records; set these counts (0: delete the entry) "
        "so they cannot come back:\n" + "\n".join(f"  {key!r}: {n}," for key, n in sorted(stale.items()))
    )
