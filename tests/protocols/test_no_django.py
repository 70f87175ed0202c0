"""playground.protocols stays Django-free.

``playground/__init__.py`` loads the Celery app, which touches django.conf, so a plain
``import playground.protocols`` always has some django in sys.modules. To see what the protocols
package itself imports, the subprocess registers a bare ``playground`` package (its __init__ not
run) and then imports every module of ``playground.protocols``; a static check of the source backs
it up.
"""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import playground.protocols

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(playground.protocols.__file__).parent


def module_names() -> list[str]:
    return sorted(f"playground.protocols.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE)]))


def test_importing_every_module_loads_no_django():
    names = module_names()
    assert {"playground.protocols.render", "playground.protocols.serialize", "playground.protocols.tokens"} <= set(names)
    code = f"""
import importlib, sys, types
stub = types.ModuleType("playground")
stub.__path__ = [{str(ROOT / "playground")!r}]
sys.modules["playground"] = stub
for name in {names!r}:
    importlib.import_module(name)
from playground.protocols.tokens import count_text
count_text("x", "chat", "gpt-4o")
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
                mods = [node.module or ""]
            else:
                continue
            assert not any(m == "django" or m.startswith("django.") for m in mods), f"{path.name} imports {mods}"
            assert not any(m.startswith(("playground.", "..")) and "protocols" not in m for m in mods), f"{path.name} imports {mods}"
