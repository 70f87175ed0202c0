"""playground.scoring stands without Django, like protocols and providers (tests/test_django_free.py
checks those): every module imports in a fresh interpreter with no Django loaded, and no source file
names Django or another playground package."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = ROOT / "playground" / "scoring"


def test_importing_every_module_and_scoring_loads_no_django():
    names = sorted(f"playground.scoring.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE)]))
    assert len(names) >= 5
    code = f"""
import importlib, sys
for name in {names!r}:
    importlib.import_module(name)
from playground.scoring import registry, stats
registry.score("wer", {{}}, "a cat", "the cat")
stats.cohens_kappa(["a", "b"], ["a", "a"])
bad = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
sys.exit("django imported: " + ", ".join(bad) if bad else 0)
"""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or done.stdout


def test_no_source_file_imports_django_or_another_playground_package():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert not node.level, f"{path.name}: use absolute imports"
                mods = [node.module or ""]
            else:
                continue
            for mod in mods:
                assert mod != "django" and not mod.startswith("django."), f"{path.name} imports {mod}"
                if mod.startswith("playground"):
                    assert mod.startswith("playground.scoring"), f"{path.name} imports {mod}"
