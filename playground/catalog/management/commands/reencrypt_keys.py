"""Encrypt every stored API key again under the newest PRISM_ENCRYPTION_KEY.

Rotation: set PRISM_ENCRYPTION_KEY="new,old" (newest first) everywhere, run this once, then
remove the old key. Keys that decrypt under none of the configured keys are left as they are and
counted, so the owner knows to enter them again.
"""

from django.core.management.base import BaseCommand

from playground.catalog.models import Provider
from playground.catalog.services import reencrypt_stored_keys


class Command(BaseCommand):
    help = "Re-encrypt stored provider API keys under the newest PRISM_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        stored = Provider.objects.exclude(api_key_encrypted="").count()
        done = reencrypt_stored_keys()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {done} of {stored} stored keys."))
        if done < stored:
            self.stdout.write(f"{stored - done} could not be decrypted with any configured key; enter them again.")
