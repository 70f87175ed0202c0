"""Evaluation-set import benchmark: a ZIP of N images with a CSV manifest, imported end to end.

    .venv/bin/python bench/evalset_import.py [--images 1000] [--jpeg-kb 0]

A throwaway data folder (temporary PRISM_DATA_DIR, migrated SQLite). The images are made by
tests/eval_data.py's make_shapes (256×256 PNG shapes, or ~N KB noisy JPEGs with --jpeg-kb) and
zipped with its write_zip (manifest.csv: file, expected, kind, tags, fields). The import is what a
worker does for the task (playground.evals.imports.run_import, in this process, slices and all):
every file decoded in the sandbox, stored once, thumbnailed, and one case per row. Cold: no
bytes known before. The issue's target: 1,000 images in ≤ 60 s.

Its last line, for scripts: ``RESULT zip_import_s=X images=N per_image_ms=Y``.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _django(data_dir: str) -> None:
    os.environ["PRISM_DATA_DIR"] = data_dir
    Path(data_dir, "staticfiles").mkdir(exist_ok=True)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--jpeg-kb", type=int, default=0, help="~KB noisy JPEGs instead of small PNGs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-bench-evalset-") as tmp:
        _django(tmp)
        from django.contrib.auth import get_user_model

        from playground.accounts.models import Membership, Team
        from playground.evals import imports, services
        from tests import eval_data

        t0 = time.perf_counter()
        cases = eval_data.make_shapes(Path(tmp) / "shapes", n=args.images, jpeg_kb=args.jpeg_kb or None)
        zip_path = eval_data.write_zip(cases, Path(tmp) / "shapes.zip", manifest="csv")
        made = time.perf_counter() - t0
        size_mb = zip_path.stat().st_size / 1e6
        print(f"made {args.images} images and the ZIP ({size_mb:.1f} MB) in {made:.1f} s")

        user = get_user_model().objects.create_user("bench", password="x")
        team = Team.objects.create(name="Bench")
        team.add_member(user, Membership.Role.OWNER)
        eval_set = services.create_set(team=team, user=user, name="Shapes", expected_kind="label")

        t0 = time.perf_counter()
        job = imports.start_import(eval_set, user=user, path=zip_path, file_name=zip_path.name)
        slices = 1
        while imports.run_import(job.pk):  # the task queues a continuation after each slice
            slices += 1
        elapsed = time.perf_counter() - t0
        job.refresh_from_db()
        assert job.status == "done" and job.added == args.images, (job.status, job.added, job.errors[:3])
        print(f"imported {job.added} cases in {elapsed:.1f} s ({slices} slice(s), {job.errors and len(job.errors) or 0} errors): "
              f"{elapsed / args.images * 1000:.1f} ms an image; target ≤ 60 s for 1,000")
        print(f"RESULT zip_import_s={elapsed:.1f} images={args.images} per_image_ms={elapsed / args.images * 1000:.1f}")


if __name__ == "__main__":
    main()
