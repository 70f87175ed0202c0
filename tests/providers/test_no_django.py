"""playground.providers stays Django-free (style.md: providers/ is HTTP only). Same approach as
tests/protocols/test_no_django.py: a subprocess with a bare ``playground`` package imports every
module, and a static check of the source backs it up."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import playground.providers

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(playground.providers.__file__).parent


def test_importing_every_module_loads_no_django():
    names = sorted(f"playground.providers.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE)]))
    assert {"playground.providers.client", "playground.providers.parse", "playground.providers.retry"} <= set(names)
    code = f"""
import importlib, sys, types
stub = types.ModuleType("playground")
stub.__path__ = [{str(ROOT / "playground")!r}]
sys.modules["playground"] = stub
for name in {names!r}:
    importlib.import_module(name)
import tests.provider_server  # the fake provider too: a benchmark runs it without Django
bad = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
sys.exit("django imported: " + ", ".join(bad) if bad else 0)
"""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr or done.stdout


def test_no_source_file_mentions_a_django_import():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [("." * node.level) + (node.module or "")]
            else:
                continue
            assert not any(m == "django" or m.startswith("django.") for m in mods), f"{path.name} imports {mods}"
            # Within playground only the (Django-free) protocols package may be used.
            assert not any(m.startswith("playground.") and not m.startswith("playground.protocols") for m in mods), f"{path.name} imports {mods}"
            assert not any(m.startswith("..") and not m.startswith("..protocols") for m in mods), f"{path.name} imports {mods}"
