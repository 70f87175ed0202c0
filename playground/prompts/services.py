"""Prompts' writes, and the editor state they start from.

EditorState is what the editor shows one user: their draft (PromptDraft), else the newest version.
Reading it writes nothing, so a GET (the editor page, a body download) changes no row. One thing
it shows is not stored yet: a draft the user has not touched since the version it started from
"follows" a newer version when one is saved. The first POST of the page writes that (see
_keep_what_the_page_showed): the page sends back the version it showed the draft at (`base`).

Every write of the prompts views is here: create_prompt, save_draft and edit_draft (the editor's
typing and structural buttons), save_draft_as_version ("Save version"), restore_version,
discard_draft. Importing a prompt is transfer.import_prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError
from django.utils import timezone

from playground.lib.ids import parse_id
from playground.prompts import editor
from playground.prompts.document import DocumentError, empty_document, normalize
from playground.prompts.forms import PreviewSettingsForm
from playground.prompts.library_source import LibrarySource
from playground.prompts.models import Prompt, PromptDraft, PromptVersion


def document_of(prompt: Prompt, version: PromptVersion | None) -> dict:
    """The version's document; an empty prompt (named after the prompt) for none or for one that no longer reads."""
    if version is None:
        return normalize({**empty_document(), "name": prompt.name})
    try:
        doc = normalize(version.content)
    except DocumentError:
        # An old or hand-made version that no longer reads: start from an empty prompt rather than fail.
        return normalize({**empty_document(), "name": prompt.name})
    doc.setdefault("name", prompt.name)
    return doc


class EditorState:
    """What the editor shows one user: their draft, else the newest version. Only reads."""

    def __init__(self, prompt: Prompt, user):
        self.prompt = prompt
        self.latest = prompt.latest_version()
        self.draft = PromptDraft.objects.filter(prompt=prompt, user=user).first()
        self.saved_doc = document_of(prompt, self.latest)
        self.doc = self.saved_doc
        self.settings = PreviewSettingsForm.defaults()
        # True when an untouched draft is shown following a newer version, which is not written yet.
        self.follows_newest = False
        if self.draft is None:
            return
        self.settings = {**self.settings, **(self.draft.preview or {})}
        try:
            self.doc = normalize(self.draft.document)
        except DocumentError:  # written by an older Prism that no longer reads: start from the saved version
            self.doc = self.saved_doc
            return
        self.draft.document = self.doc
        base = self.draft.base_number
        if self.latest and base and base < self.latest.number and not _edited_since(prompt, self.doc, base):
            # A newer version was saved and this draft changed nothing: it follows the newest.
            self.doc = self.saved_doc
            self.draft.document, self.draft.base_number = self.doc, self.latest.number
            self.follows_newest = True

    def unsaved(self, doc: dict) -> bool:
        """Whether ``doc`` (what the page shows) differs from the newest version, as the editor would save it."""
        if self.draft is None:
            return False
        items = LibrarySource(self.prompt.team).items(editor.item_ids(self.saved_doc) | editor.item_ids(doc))
        return doc != editor.canonical(self.saved_doc, items)

    @property
    def started_before_newest(self) -> bool:
        """The draft started from a version older than the newest (someone saved since)."""
        base = self.draft.base_number if self.draft else None
        return bool(self.latest and base and base < self.latest.number)


def _edited_since(prompt: Prompt, draft_doc: dict, number: int) -> bool:
    base = PromptVersion.objects.filter(prompt=prompt, number=number).first()
    if base is None:
        return True
    base_doc = document_of(prompt, base)
    items = LibrarySource(prompt.team).items(editor.item_ids(base_doc) | editor.item_ids(draft_doc))
    return draft_doc != editor.canonical(base_doc, items)


def _settled_state(prompt: Prompt, user) -> EditorState:
    """The state, with a draft that follows the newest version written so (for POSTs, which may write)."""
    state = EditorState(prompt, user)
    if state.follows_newest:
        PromptDraft.objects.filter(pk=state.draft.pk).update(document=state.doc, base_number=state.latest.number)
        state.follows_newest = False
    return state


def _keep_what_the_page_showed(prompt: Prompt, user, page_base: int | None) -> None:
    """Write the follow the page's GET showed but did not write: the untouched draft now starts from
    version ``page_base``, so the edit arriving with it counts as made on that version (not as made
    on an older one, which would announce "vN has been saved since")."""
    if not page_base:
        return
    draft = PromptDraft.objects.filter(prompt=prompt, user=user, base_number__lt=page_base).first()
    if draft is None or not draft.base_number:
        return
    shown = PromptVersion.objects.filter(prompt=prompt, number=page_base).first()
    try:
        doc = normalize(draft.document)
    except DocumentError:
        return
    if shown is None or _edited_since(prompt, doc, draft.base_number):
        return
    PromptDraft.objects.filter(pk=draft.pk).update(document=document_of(prompt, shown), base_number=page_base)


def _write_draft(prompt: Prompt, user, doc: dict, settings: dict, stamp: int) -> None:
    """Keep the user's working copy. A request older than the draft (by the page's own clock)
    is not written: a slow preview must not undo a newer edit."""
    updated = PromptDraft.objects.filter(prompt=prompt, user=user, stamp__lte=stamp).update(
        document=doc, preview=settings, stamp=stamp, updated_at=timezone.now()
    )
    if updated or PromptDraft.objects.filter(prompt=prompt, user=user).exists():
        return
    base = prompt.latest_version()
    try:
        PromptDraft.objects.create(prompt=prompt, user=user, document=doc, preview=settings, stamp=stamp,
                                   base_number=base.number if base else None)
    except IntegrityError:  # another request of the same page created it just now
        pass


# --- the operations -------------------------------------------------------------------------------


def create_prompt(team, user, name: str) -> Prompt:
    """A new prompt with an empty document as version 1."""
    prompt = Prompt.objects.create(team=team, name=name, created_by=user)
    prompt.save_version(normalize({**empty_document(), "name": prompt.name}), user=user)
    return prompt


def save_draft(prompt: Prompt, user, doc: dict, settings: dict, *, stamp: int, page_base: int | None = None) -> EditorState:
    """Keep what the editor form holds as the user's draft; the state after it."""
    _keep_what_the_page_showed(prompt, user, page_base)
    _write_draft(prompt, user, doc, settings, stamp)
    return _settled_state(prompt, user)


@dataclass
class Edited:
    """A structural edit of the draft: the document and settings it left, and where the focus goes."""

    state: EditorState
    doc: dict
    settings: dict
    errors: dict[tuple, list[str]]
    focus: str | None
    settings_changed: bool


def edit_draft(prompt: Prompt, user, parsed: editor.Parsed, action: str, *, pick: str | None, stamp: int,
               page_base: int | None = None) -> Edited:
    """Apply one editor button (add, move or remove a message, part or value; pick media; apply a
    fallback or an option) to the posted form and keep the result as the draft."""
    doc, settings, errors = parsed.doc, parsed.settings, dict(parsed.errors)
    focus = None
    if pick:
        action = "pick"
    if action.startswith("option:"):
        if action == "option:clamp_temperature":
            settings = {**settings, "clamp_temperature": True}
        focus = "id_pv-clamp_temperature"
    elif action:
        ids = editor.item_ids(doc)
        if pick:
            _, _, picked = pick.partition("|")
            if picked_id := parse_id(picked):
                ids.add(picked_id)
        items = LibrarySource(prompt.team).items(ids)
        try:
            doc, focus = editor.apply_action(doc, action, items=items, pick=pick)
            doc = normalize(doc)
        except (editor.ActionError, DocumentError) as exc:
            errors.setdefault(("prompt",), []).append(str(exc))
    state = save_draft(prompt, user, doc, settings, stamp=stamp, page_base=page_base)
    return Edited(state, doc, settings, errors, focus, settings_changed=action.startswith("option:"))


@dataclass
class Saved:
    """What "Save version" did: the version (created False: it equals the newest, nothing new), or the
    problems that kept it from saving."""

    state: EditorState
    version: PromptVersion | None = None
    created: bool = False
    problems: list[str] = field(default_factory=list)


def save_draft_as_version(prompt: Prompt, user, doc: dict, settings: dict, *, stamp: int, page_base: int | None = None,
                          form_problems=()) -> Saved:
    """The editor's "Save version": the posted document becomes the newest version, unless a field is
    invalid (``form_problems``) or a library item it uses is gone. The draft then starts over from the
    new version, keeping the user's preview settings (they are not part of the prompt)."""
    _keep_what_the_page_showed(prompt, user, page_base)
    ids = editor.item_ids(doc)
    items = LibrarySource(prompt.team).items(ids)
    problems = list(form_problems)
    problems += [f"Library item {i} is not in this team's library (deleted?): remove or replace its part."
                 for i in sorted(ids - set(items))]
    state = _settled_state(prompt, user)
    if problems:
        return Saved(state, problems=problems)
    before = state.latest
    version = prompt.save_version(doc, media_items=list(items.values()), user=user)
    if prompt.name != doc.get("name", prompt.name):
        Prompt.objects.filter(pk=prompt.pk).update(name=doc["name"])
        prompt.name = doc["name"]
    PromptDraft.objects.filter(prompt=prompt, user=user).delete()
    PromptDraft.objects.create(prompt=prompt, user=user, document=doc, preview=settings, stamp=stamp,
                               base_number=version.number)
    return Saved(EditorState(prompt, user), version, created=before is None or version.pk != before.pk)


def discard_draft(prompt: Prompt, user) -> None:
    PromptDraft.objects.filter(prompt=prompt, user=user).delete()


def restore_version(prompt: Prompt, old: PromptVersion, user) -> tuple[PromptVersion, bool]:
    """Save ``old``'s content as the newest version (with its media and name) and drop the user's
    draft. Answers the version and whether it is new (False: ``old`` equals the newest already)."""
    latest = prompt.latest_version()
    version = prompt.save_version(old.content, media_items=list(old.media_items.all()), user=user)
    discard_draft(prompt, user)
    name = (old.content or {}).get("name") if isinstance(old.content, dict) else None
    if isinstance(name, str) and name and name != prompt.name:
        Prompt.objects.filter(pk=prompt.pk).update(name=name)
    return version, latest is None or version.pk != latest.pk
