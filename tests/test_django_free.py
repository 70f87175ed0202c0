"""The packages meant to stand without Django (style.md) import none of it.

Each is imported, every module of it, in a fresh interpreter with no Django settings, and a
static check of the source backs that up: only other Django-free packages may be used.
"""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DJANGO_FREE = {
    "playground.protocols": (),
    "playground.providers": ("playground.protocols",),
    "playground.scoring": (),
}
EXTRA_IMPORTS = {
    "playground.protocols": 'from playground.protocols.tokens import count_text; count_text("x", "chat", "gpt-4o")',
    "playground.providers": "import tests.provider_server  # the fake provider too: a bench runs it without Django",
    "playground.scoring": 'from playground.scoring import registry, stats; registry.score("wer", {}, "a cat", "the cat"); '
                          'stats.cohens_kappa(["a", "b"], ["a", "a"])',
}


def modules_of(package: str) -> list[str]:
    folder = ROOT / package.replace(".", "/")
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules([str(folder)]))


@pytest.mark.parametrize("package", sorted(DJANGO_FREE))
def test_importing_every_module_loads_no_django(package):
    names = modules_of(package)
    assert len(names) >= 3
    code = f"""
import importlib, sys
for name in {names!r}:
    importlib.import_module(name)
{EXTRA_IMPORTS[package]}
bad = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
sys.exit("django imported: " + ", ".join(bad) if bad else 0)
"""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or done.stdout


@pytest.mark.parametrize("package", sorted(DJANGO_FREE))
def test_no_source_file_imports_django_or_a_django_app(package):
    allowed = (package, *DJANGO_FREE[package])
    for path in (ROOT / package.replace(".", "/")).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: only within the package, or a sibling that is allowed
                    mods = [f"{package.rsplit('.', 1)[0]}.{node.module or ''}".rstrip(".") if node.level == 2 else package]
                else:
                    mods = [node.module or ""]
            else:
                continue
            for mod in mods:
                assert mod != "django" and not mod.startswith("django."), f"{path.name} imports {mod}"
                if mod.startswith("playground"):
                    assert mod.startswith(allowed), f"{path.name} imports {mod}"
