"""Create a demo team and user with a few media items, so a newcomer sees Prism working at once.

Safe to run again: existing demo objects are kept, missing ones are added. The password is printed
so the person who started Prism can log in; set DEMO_PASSWORD to choose it. bin/run calls it on every
start. It lives in the demo app, above accounts, uploads and prompts, whose objects it creates.
"""

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from playground.accounts.models import Membership, Team
from playground.lib.demo_media import DEMO_FILES
from playground.prompts.models import Prompt
from playground.uploads import services

DEMO_USERNAME = "demo"
DEFAULT_PASSWORD = "prism-demo"
DEMO_PROMPT = "Demo: shapes and a chord"


class Command(BaseCommand):
    help = "Create the demo team, user and media (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--no-media", action="store_true", help="Only the team and user.")

    def handle(self, *args, no_media=False, **options):
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

            self.seed_prompt(team, user)

        self.stdout.write(self.style.SUCCESS(f"Demo team ready ({added} media items added)."))
        if created:
            self.stdout.write(f"Log in as  user: {DEMO_USERNAME}   password: {password}")
        else:
            self.stdout.write(f"Log in as  user: {DEMO_USERNAME}   (password unchanged since it was first set)")

    def seed_prompt(self, team, user) -> None:
        """A prompt using the demo picture and sound, so Prompts and its previews show something."""
        if Prompt.objects.filter(team=team, name=DEMO_PROMPT).exists():
            return
        items = {item.name: item for item in team.media_items.filter(name__in=["three-shapes.jpg", "c-major-arpeggio.wav"])}
        if len(items) < 2:
            return  # the user removed a demo file; don't bring a half prompt back
        image, sound = items["three-shapes.jpg"], items["c-major-arpeggio.wav"]
        content = {
            "system": "You are a careful visual and audio analyst. Answer in two short sentences.",
            "messages": [{"role": "user", "parts": [
                {"text": "Describe {{subject}} in this picture, then name the chord you hear."},
                {"media": {"item": image.pk}, "detail": "high"},
                {"media": {"item": sound.pk}},
            ]}],
            "variables": {"subject": "the red shape"},
            "options": {"max_tokens": 300, "temperature": 0.2},
        }
        prompt = Prompt.objects.create(team=team, name=DEMO_PROMPT, created_by=user)
        prompt.save_version(content, media_items=[image, sound], user=user)
