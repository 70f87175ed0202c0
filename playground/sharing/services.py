"""Every write of sharing: making, revoking and re-timing links, and forking a shared prompt.

Views check who may do what (accounts.teams.require_membership) and call these; a visit of a
shared page writes only its counter (ShareLink.count_view).

Forking copies the version's media into the target team the way an upload would store the same
bytes: the StoredFile (the blob, stored once by its SHA-256) is shared, the team gets its own
MediaItem row, and an item the team already holds with that content is reused
(uploads/services.py _add_checked_file does the same lookup before it stores anything). Nothing
is decoded again: the source item's findings and thumbnail are those bytes' findings.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from playground.prompts.document import DocumentError, media_refs, normalize, rewrite_media_refs
from playground.prompts.library_source import item_id_of
from playground.prompts.models import Prompt, PromptVersion
from playground.sharing.models import ForkOrigin, ShareLink
from playground.uploads.models import MediaItem

# What "expires in" offers: the form's value -> the time from now (None: never).
EXPIRY_CHOICES = [("", "Never"), ("1h", "1 hour"), ("1d", "1 day"), ("7d", "7 days"), ("30d", "30 days"),
                  ("90d", "90 days")]
_EXPIRY = {"": None, "1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7),
           "30d": timedelta(days=30), "90d": timedelta(days=90)}


class ForkRefused(Exception):
    """The shared version cannot be forked; str(exc) says why, for the visitor."""


def expiry_from(choice: str, now=None):
    """The expiry time an "expires in" choice means from now (None: never)."""
    delta = _EXPIRY[choice]
    return None if delta is None else (now or timezone.now()) + delta


def create_link(*, prompt: Prompt, version: PromptVersion | None, runs=(), user=None, expires: str = ""
                ) -> tuple[ShareLink, str]:
    """A new link to ``version`` (None: always the latest) showing ``runs`` (the prompt's own)."""
    if version is not None and version.prompt_id != prompt.pk:
        raise ValueError("The version is not one of this prompt's.")
    if any(run.prompt_version.prompt_id != prompt.pk for run in runs):
        raise ValueError("A run is not one of this prompt's.")
    with transaction.atomic():
        return ShareLink.create(prompt=prompt, version=version, runs=runs, user=user, expires_at=expiry_from(expires))


def revoke(link: ShareLink, user) -> None:
    """From now on the link's page and media answer 404. Revoking twice keeps the first time."""
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_by=user)


def set_expiry(link: ShareLink, choice: str) -> None:
    """A new expiry counted from now (an expired link opens again); a revoked link stays revoked."""
    ShareLink.objects.filter(pk=link.pk).update(expires_at=expiry_from(choice))


# --- forking -------------------------------------------------------------------------------------


def fork(link: ShareLink, version: PromptVersion, *, team, user) -> Prompt:
    """A new prompt in ``team`` whose first version is ``version``'s document, its media the
    team's own items (deduplicated by content), with a ForkOrigin saying where it came from.
    The caller has checked that ``user`` edits ``team``. Raises ForkRefused; then nothing is created."""
    source = version.prompt
    try:
        doc = normalize(version.content)
    except DocumentError as exc:
        raise ForkRefused(f"The shared version is not a valid prompt document: {exc}") from None
    ids = {item_id_of(ref) for ref in media_refs(doc)} - {None}
    items = {i.pk: i for i in MediaItem.objects.filter(team_id=source.team_id, pk__in=ids).select_related("file")}
    if missing := ids - set(items):
        raise ForkRefused(f"The shared version names {len(missing)} media item(s) no longer in its library.")
    with transaction.atomic():
        copies = {pk: copy_item(item, team=team, user=user) for pk, item in items.items()}
        forked_doc = remap_media(doc, {pk: {"item": c.pk} for pk, c in copies.items()})
        forked = Prompt.objects.create(team=team, name=source.name, created_by=user)
        forked.save_version(forked_doc, media_items=list(copies.values()), user=user)
        ForkOrigin.objects.create(prompt=forked, source_prompt=source, source_version=version, link=link,
                                  source_name=source.name[:200], source_number=version.number, forked_by=user)
    return forked


def copy_item(item: MediaItem, *, team, user) -> MediaItem:
    """``item`` as an item of ``team``: the item the team already holds with the same bytes, else
    a new row sharing the stored file and thumbnail. A URL reference (no bytes kept) is matched
    by its URL as well."""
    if item.team_id == team.pk:
        return item
    same = MediaItem.objects.filter(team=team, sha256=item.sha256)
    if item.is_reference:
        same = same.filter(source=MediaItem.Source.URL_REFERENCE, source_url=item.source_url)
    else:
        same = same.exclude(source=MediaItem.Source.URL_REFERENCE)
    if existing := same.order_by("pk").first():
        return existing
    fields = {f.attname: getattr(item, f.attname) for f in MediaItem._meta.concrete_fields
              if f.attname not in ("id", "team_id", "created_by_id", "created_at")}
    try:
        with transaction.atomic():
            return MediaItem.objects.create(**fields, team=team, created_by=user)
    except IntegrityError:
        # The same bytes arrived in the team meanwhile (an upload raced the fork): that item it is.
        return same.order_by("pk").first()


def remap_media(doc: dict, new_refs: dict[int, dict]) -> dict:
    """``doc`` with each library reference {"item": old} replaced by new_refs[old] (parts and
    media variables, as prompts/transfer.py rewrites them for an export or an import); URL
    references stay as they are."""

    def rewrite(ref, send):
        item_id = item_id_of(ref)
        return new_refs[item_id] if item_id in new_refs else ref

    return rewrite_media_refs(normalize(doc), rewrite)  # normalize: a copy
