"""Delete stored files that nothing uses any more, and variants of bytes no item holds.

Files are stored once by content and shared, so deleting a library item leaves its bytes for any
other item, variant or logged request that needs them; this command collects the rest. A file is
kept while a media item (as its file or thumbnail), a variant of a kept file, or a logged request
body uses it (apps above uploads name the files they use through uploads/references.py). Files younger than --older-than are kept too: an upload in progress stores its bytes
a moment before its item exists.

It also deletes temporary files that killed uploads left in FILE_UPLOAD_TEMP_DIR (not touched
for an hour; also done whenever a web process or the media worker starts).
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from playground.uploads.services import prune_unused_files, sweep_upload_temp


class Command(BaseCommand):
    help = "Delete stored media files and variants that no item, variant or logged request uses."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be deleted.")
        parser.add_argument("--older-than", type=int, default=60, metavar="MINUTES",
                            help="Keep files stored less than this long ago (default 60).")

    def handle(self, *args, dry_run=False, older_than=60, **options):
        pruned = prune_unused_files(before=timezone.now() - timedelta(minutes=older_than), dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {pruned.variants} variant(s) and {pruned.files} stored file(s), {pruned.bytes / 1e6:.1f} MB."
        )
        if not dry_run:
            swept = sweep_upload_temp()
            self.stdout.write(f"Deleted {swept.files} stale temporary upload file(s), {swept.bytes / 1e6:.1f} MB.")
