"""Create a demo team and user with a few media items, so a newcomer sees Prism working at once.

Safe to run again: existing demo objects are kept, missing ones are added. The password is printed
so the person who started Prism can log in; set DEMO_PASSWORD to choose it.
"""

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from playground.accounts.models import Membership, Team
from playground.lib.demo_media import DEMO_FILES

DEMO_USERNAME = "demo"
DEFAULT_PASSWORD = "prism-demo"


class Command(BaseCommand):
    help = "Create the demo team, user and media (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--no-media", action="store_true", help="Only the team and user.")

    def handle(self, *args, no_media=False, **options):
        from playground.uploads import services  # after apps are ready

        password = os.environ.get("DEMO_PASSWORD", DEFAULT_PASSWORD)
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_password(password)
            user.save()
        team = Team.objects.filter(slug="demo").first() or Team.objects.create(name="Demo team", slug="demo")
        team.add_member(user, Membership.Role.OWNER)

        added = 0
        if not no_media:
            present = set(team.media_items.values_list("name", flat=True))
            for name, make in DEMO_FILES:
                if name in present:
                    continue  # kept as the user left it (a deleted demo item comes back, an edited one stays)
                with tempfile.NamedTemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
                    tmp.write(make())
                    tmp.flush()
                    result = services.add_path(team=team, user=user, path=Path(tmp.name), name=name)
                    added += result.created

        self.stdout.write(self.style.SUCCESS(f"Demo team ready ({added} media items added)."))
        if created:
            self.stdout.write(f"Log in as  user: {DEMO_USERNAME}   password: {password}")
        else:
            self.stdout.write(f"Log in as  user: {DEMO_USERNAME}   (password unchanged since it was first set)")
