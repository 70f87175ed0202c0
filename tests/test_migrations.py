"""The migrations match the models: a model change without its migration fails here, not on deploy.

makemigrations --check --dry-run writes nothing; it prints what it would create and exits non-zero.
"""

from io import StringIO

import pytest
from django.core.management import call_command


def test_every_model_change_has_its_migration(db):
    out = StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, interactive=False, stdout=out, stderr=out)
        exit_code = 0
    except SystemExit as stopped:
        exit_code = stopped.code
    if exit_code:
        pytest.fail(
            f"makemigrations would create migrations (exit {exit_code}):\n{out.getvalue()}\n"
            "Run `.venv/bin/python manage.py makemigrations`, read the new file and commit it with the model change.",
            pytrace=False,
        )
    assert "No changes detected" in out.getvalue(), out.getvalue()
