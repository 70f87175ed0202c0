"""Prompts: the list, the editor with its live previews, versions (history, diff, restore), the
exact request bodies, export and import.

The editor page is one form (see editor.py). Typing posts it to `preview` (debounced), which
answers with the preview columns plus out-of-band updates of the remarks shown on each part;
buttons that change the structure post it to `editor_action`, which answers with the re-drawn
editor plus the columns. Both keep the user's working draft (PromptDraft), so nothing typed is
lost; "Save version" turns the draft into an immutable version.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.db import IntegrityError
from django.db.models import Max
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from playground.accounts.teams import current_membership, current_team, require_membership
from playground.lib.ids import parse_id
from playground.prompts import editor
from playground.prompts.document import DocumentError, MediaProblem, empty_document, normalize
from playground.prompts.forms import DiffForm, ImportForm, NewPromptForm, PreviewSettingsForm
from playground.prompts.library_source import LibrarySource
from playground.prompts.models import Prompt, PromptDraft, PromptVersion
from playground.prompts.previews import COLUMN_KEYS, LABELS, SHORT_LABELS, PlaceRemark, body_filename, render_previews, targets_for
from playground.uploads.models import MediaItem
from playground.uploads.views import upload_cards


def _get_prompt(request, prompt_id: int, *, edit: bool = False):
    """The prompt and the user's membership of its team; 404 for another team's prompt."""
    prompt = get_object_or_404(Prompt, pk=prompt_id)
    membership = require_membership(request, prompt.team_id, edit=edit)
    return prompt, membership


def _get_version(prompt: Prompt, number: int) -> PromptVersion:
    return get_object_or_404(PromptVersion, prompt=prompt, number=number)


def _document_of(prompt: Prompt, version: PromptVersion | None) -> dict:
    if version is None:
        return normalize({**empty_document(), "name": prompt.name})
    try:
        doc = normalize(version.content)
    except DocumentError:
        # An old or hand-made version that no longer reads: start from an empty prompt rather than fail.
        return normalize({**empty_document(), "name": prompt.name})
    doc.setdefault("name", prompt.name)
    return doc


class _State:
    """What the editor shows for one user: their draft, else the latest version."""

    def __init__(self, prompt: Prompt, user):
        self.prompt = prompt
        self.latest = prompt.latest_version()
        self.draft = PromptDraft.objects.filter(prompt=prompt, user=user).first()
        self.saved_doc = _document_of(prompt, self.latest)
        self.doc = self.saved_doc
        self.settings = PreviewSettingsForm.defaults()
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
        if self.latest and base and base < self.latest.number and not self._edited_since(base):
            # A newer version was saved and this draft changed nothing: it follows the newest.
            self.doc = self.saved_doc
            PromptDraft.objects.filter(pk=self.draft.pk).update(document=self.doc, base_number=self.latest.number)
            self.draft.document, self.draft.base_number = self.doc, self.latest.number

    def _edited_since(self, number: int) -> bool:
        base = PromptVersion.objects.filter(prompt=self.prompt, number=number).first()
        if base is None:
            return True
        base_doc = _document_of(self.prompt, base)
        _, items = _items_for(self.prompt.team, editor.item_ids(base_doc) | editor.item_ids(self.draft.document))
        return self.draft.document != editor.canonical(base_doc, items)


def _items_for(team, ids) -> tuple[LibrarySource, dict[int, MediaItem]]:
    source = LibrarySource(team)
    source.prefetch(ids)
    items = {}
    for item_id in ids:
        try:
            items[item_id] = source.item(item_id)
        except MediaProblem:
            pass
    return source, items


def _save_draft(prompt: Prompt, user, doc: dict, settings: dict, stamp: int, base: PromptVersion | None) -> None:
    """Keep the user's working copy. A request older than the draft (by the page's own clock)
    is not written: a slow preview must not undo a newer edit."""
    now = timezone.now()
    updated = PromptDraft.objects.filter(prompt=prompt, user=user, stamp__lte=stamp).update(
        document=doc, preview=settings, stamp=stamp, updated_at=now
    )
    if updated or PromptDraft.objects.filter(prompt=prompt, user=user).exists():
        return
    try:
        PromptDraft.objects.create(prompt=prompt, user=user, document=doc, preview=settings, stamp=stamp,
                                   base_number=base.number if base else None)
    except IntegrityError:  # another request of the same page created it just now
        pass


def _stamp(request) -> int:
    # The page's clock in ms; anything else (or beyond a BigIntegerField) counts as 0.
    return parse_id(request.POST.get("stamp", "0")) or 0


# --- the list ----------------------------------------------------------------------------------------


@require_GET
@never_cache
def prompt_list(request):
    team = current_team(request)
    membership = current_membership(request)
    return _list_page(request, team, membership.can_edit)


def _list_page(request, team, can_edit, *, new_form=None, import_form=None, status=200):
    prompts = (
        Prompt.objects.filter(team=team)
        .annotate(latest_number=Max("versions__number"))
        .select_related("created_by")
    )
    return render(
        request,
        "prompts/list.html",
        {
            "prompts": prompts,
            "can_edit": can_edit,
            "new_form": new_form or NewPromptForm(),
            "import_form": import_form or ImportForm(),
        },
        status=status,
    )


@require_POST
def prompt_create(request):
    team = current_team(request)
    membership = require_membership(request, team.pk, edit=True)
    form = NewPromptForm(request.POST)
    if not form.is_valid():
        return _list_page(request, team, membership.can_edit, new_form=form)
    prompt = Prompt.objects.create(team=team, name=form.cleaned_data["name"], created_by=request.user)
    prompt.save_version(normalize({**empty_document(), "name": prompt.name}), user=request.user)
    return redirect("prompts:edit", prompt_id=prompt.pk)


@require_POST
def prompt_import(request):
    from playground.prompts.transfer import ImportRefused, import_prompt

    team = current_team(request)
    membership = require_membership(request, team.pk, edit=True)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            prompt = import_prompt(team=team, user=request.user, uploaded_file=form.cleaned_data["file"])
        except ImportRefused as exc:
            form.add_error("file", f"Not imported: {exc}")
        else:
            messages.success(request, f"Imported “{prompt.name}”.")
            return redirect("prompts:edit", prompt_id=prompt.pk)
    return _list_page(request, team, membership.can_edit, import_form=form)


# --- the editor --------------------------------------------------------------------------------------


@require_GET
@never_cache  # Back to the editor must show the draft as it is now, not the page as first served
def prompt_edit(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id)
    state = _State(prompt, request.user)
    ctx = _workspace(request, prompt, membership, state, doc=state.doc, settings=state.settings)
    return render(request, "prompts/edit.html", ctx)


@require_POST
def preview(request, prompt_id: int):
    """The preview columns for the posted editor form, plus the remarks on each part (out of band)."""
    prompt, membership = _get_prompt(request, prompt_id)
    parsed = editor.parse_editor(request.POST)
    _save_draft(prompt, request.user, parsed.doc, parsed.settings, _stamp(request), prompt.latest_version())
    state = _State(prompt, request.user)
    ctx = _workspace(request, prompt, membership, state, doc=parsed.doc, settings=parsed.settings,
                     prompt_form=parsed.prompt_form, errors=parsed.errors)
    ctx["variables_changed"] = request.POST.get("varsig") != ctx["varsig"]
    return render(request, "prompts/_preview_response.html", ctx)


@require_POST
def editor_action(request, prompt_id: int):
    """Add, move or remove a message, part or value; pick media; apply a fallback. Answers with
    the editor re-drawn and the previews, and puts the focus where the action left off."""
    prompt, membership = _get_prompt(request, prompt_id)
    parsed = editor.parse_editor(request.POST)
    doc, settings, errors = parsed.doc, parsed.settings, dict(parsed.errors)
    action = request.POST.get("action", "")
    pick = request.POST.get("pick")
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
        _, items = _items_for(prompt.team, ids)
        try:
            doc, focus = editor.apply_action(doc, action, items=items, pick=pick)
            doc = normalize(doc)
        except (editor.ActionError, DocumentError) as exc:
            errors.setdefault(("prompt",), []).append(str(exc))
    _save_draft(prompt, request.user, doc, settings, _stamp(request), prompt.latest_version())
    state = _State(prompt, request.user)
    ctx = _workspace(request, prompt, membership, state, doc=doc, settings=settings, errors=errors,
                     prompt_form=parsed.prompt_form)
    ctx["focus"] = focus
    ctx["settings_changed"] = action.startswith("option:")
    return render(request, "prompts/_editor_response.html", ctx)


@require_POST
def prompt_save(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id, edit=True)
    parsed = editor.parse_editor(request.POST)
    doc = parsed.doc
    ids = editor.item_ids(doc)
    _, items = _items_for(prompt.team, ids)
    problems = [m for msgs in parsed.errors.values() for m in msgs]
    problems += [f"Library item {i} is not in this team's library (deleted?): remove or replace its part."
                 for i in sorted(ids - set(items))]
    state = _State(prompt, request.user)
    if problems:
        message = ("Not saved: " + " ".join(problems), "error")
    else:
        before = state.latest
        version = prompt.save_version(doc, media_items=list(items.values()), user=request.user)
        if prompt.name != doc.get("name", prompt.name):
            Prompt.objects.filter(pk=prompt.pk).update(name=doc["name"])
            prompt.name = doc["name"]
        PromptDraft.objects.filter(prompt=prompt, user=request.user).delete()
        if before is not None and version.pk == before.pk:
            message = (f"No changes since v{version.number}: nothing new to save.", "info")
        else:
            message = (f"Saved as v{version.number}.", "success")
        # Keep the preview settings the user chose (they are not part of the prompt).
        PromptDraft.objects.create(prompt=prompt, user=request.user, document=doc, preview=parsed.settings,
                                   stamp=_stamp(request), base_number=version.number)
        state = _State(prompt, request.user)
    if not request.htmx:
        messages.add_message(request, messages.ERROR if message[1] == "error" else messages.SUCCESS, message[0])
        return redirect("prompts:edit", prompt_id=prompt.pk)
    ctx = _head_context(prompt, membership, state, doc)
    ctx.update(save_message=message[0], save_level=message[1])
    return render(request, "prompts/_save_response.html", ctx)


@require_POST
def draft_discard(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id)
    PromptDraft.objects.filter(prompt=prompt, user=request.user).delete()
    if request.htmx:
        return HttpResponseClientRedirect(reverse("prompts:edit", args=[prompt.pk]))
    return redirect("prompts:edit", prompt_id=prompt.pk)


PICKER_SIZE = 200  # newest first; search and the kind filter reach the rest


@require_GET
def media_picker(request, prompt_id: int):
    """The team's media as a grid of buttons; picking one sets the part or value named by target."""
    prompt, membership = _get_prompt(request, prompt_id)
    kind = request.GET.get("kind", "")
    target = request.GET.get("target", "")
    q = request.GET.get("q", "").replace("\x00", "").strip()  # PostgreSQL takes no NUL in a query
    items = MediaItem.objects.for_team(prompt.team)
    if kind in MediaItem.Kind.values:
        items = items.filter(kind=kind)
    if q:
        items = items.filter(name__icontains=q)
    template = "prompts/_picker.html"
    if request.htmx and request.htmx.target == "picker-grid":
        template += "#picker-grid"
    return render(request, template, {
        "prompt": prompt,
        "items": items[:PICKER_SIZE],
        "total": items.count(),
        "kind": kind if kind in MediaItem.Kind.values else "",
        "kinds": MediaItem.Kind.choices,
        "locked_kind": request.GET.get("lock") == "1",
        "target": target,
        "q": q,
        "can_edit": membership.can_edit,
    })


@require_POST
def media_upload(request, prompt_id: int):
    """An upload from the editor's picker, into the prompt's team (whatever team the session is
    on); answers with the library's media card, or the refusal card."""
    prompt, membership = _get_prompt(request, prompt_id)
    if not membership.can_edit:  # 403 like the library's upload: a refused write says so in its status
        return HttpResponse(render_to_string("uploads/_refused_card.html",
                                             {"name": "", "reason": "Your role in this team is read-only."}), status=403)
    files = request.FILES.getlist("file")
    if not files:
        return HttpResponse(render_to_string("uploads/_refused_card.html",
                                             {"name": "", "reason": "No file was received. Choose a file to upload."}))
    cards, added_items = upload_cards(request, team=prompt.team, files=files)
    target = request.POST.get("target", "")
    if target and len(added_items) == 1:
        # Put the new item where the picker was opened for, as a click on it in the grid would.
        cards.append(render_to_string("prompts/_auto_pick.html", {"prompt": prompt, "target": target, "item": added_items[0]}))
    return HttpResponse("".join(cards))


# --- bodies --------------------------------------------------------------------------------------------


@require_GET
@never_cache
def body_download(request, prompt_id: int, column: str):
    """The exact request body for one protocol, streamed (the user's draft, or ?version=N)."""
    prompt, membership = _get_prompt(request, prompt_id)
    if column not in COLUMN_KEYS:
        raise Http404("No such protocol")
    state = _State(prompt, request.user)
    doc = state.doc
    if request.GET.get("version"):
        try:
            doc = _document_of(prompt, _get_version(prompt, int(request.GET["version"])))
        except ValueError:
            raise Http404("No such version") from None
    settings = {**state.settings, "columns": [column]}
    source, _ = _items_for(prompt.team, editor.item_ids(doc))
    col = render_previews(doc=doc, values=None, source=source, targets=targets_for(settings)).columns[0]
    if not col.ok:
        reasons = [r.message for r in col.refusals]
        return render(request, "prompts/body_refused.html",
                      {"prompt": prompt, "label": LABELS[column], "reasons": reasons}, status=409)
    filename = body_filename(doc.get("name") or prompt.name, column)
    response = StreamingHttpResponse(col.rendered.iter_body(), content_type="application/json")
    response["Content-Length"] = str(col.rendered.body_size())
    disposition = "inline" if request.GET.get("inline") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- versions -----------------------------------------------------------------------------------------


@require_GET
def version_list(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id)
    versions = list(prompt.versions.select_related("created_by").order_by("-number"))
    names = _item_names(prompt, versions)
    rows = []
    for i, v in enumerate(versions):
        rows.append({"version": v, "previous": versions[i + 1] if i + 1 < len(versions) else None,
                     "lines": "\n".join(editor.readable_lines(_safe_content(v), names))})
    newest = versions[0].number if versions else 1
    return render(request, "prompts/history.html", {
        "prompt": prompt,
        "rows": rows,
        "can_edit": membership.can_edit,
        "diff_form": DiffForm(initial={"a": max(1, newest - 1), "b": newest, "view": "text"}),
    })


@require_GET
def version_diff(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id)
    form = DiffForm(request.GET)
    ctx = {"prompt": prompt, "diff_form": form, "rows": None}
    if form.is_valid():
        a = _get_version(prompt, form.cleaned_data["a"])
        b = _get_version(prompt, form.cleaned_data["b"])
        view = form.cleaned_data.get("view") or "text"
        if view == "json":
            left, right = editor.json_lines(_safe_content(a)), editor.json_lines(_safe_content(b))
        else:
            names = _item_names(prompt, [a, b])
            left, right = editor.readable_lines(_safe_content(a), names), editor.readable_lines(_safe_content(b), names)
        ctx.update(a=a, b=b, view=view, rows=editor.diff(left, right))
    template = "prompts/diff.html"
    if request.htmx:
        template += "#diff-result"
    return render(request, template, ctx)


@require_POST
def version_restore(request, prompt_id: int, number: int):
    prompt, membership = _get_prompt(request, prompt_id, edit=True)
    old = _get_version(prompt, number)
    latest = prompt.latest_version()
    version = prompt.save_version(old.content, media_items=list(old.media_items.all()), user=request.user)
    PromptDraft.objects.filter(prompt=prompt, user=request.user).delete()
    name = (old.content or {}).get("name") if isinstance(old.content, dict) else None
    if isinstance(name, str) and name and name != prompt.name:
        Prompt.objects.filter(pk=prompt.pk).update(name=name)
    if latest is not None and version.pk == latest.pk:
        messages.info(request, f"v{old.number} is the same as the newest version (v{latest.number}): nothing to restore.")
    else:
        messages.success(request, f"Restored v{old.number} as v{version.number}, the newest version.")
    return redirect("prompts:edit", prompt_id=prompt.pk)


@require_GET
def version_export(request, prompt_id: int, number: int):
    from playground.prompts.transfer import ExportError, export_version

    prompt, membership = _get_prompt(request, prompt_id)
    version = _get_version(prompt, number)
    try:
        data = export_version(version)
    except ExportError as exc:
        messages.error(request, f"Not exported: {exc}")
        return redirect("prompts:versions", prompt_id=prompt.pk)
    response = HttpResponse(data, content_type="application/zip")
    filename = body_filename(prompt.name, f"v{version.number}").removesuffix(".json") + ".zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _safe_content(version: PromptVersion) -> dict:
    try:
        return normalize(version.content)
    except DocumentError:
        return {"name": "", "system": json.dumps(version.content, indent=2), "messages": [], "variables": {}, "options": {}}


def _item_names(prompt: Prompt, versions) -> dict[int, str]:
    ids = set()
    for v in versions:
        try:
            ids |= editor.item_ids(normalize(v.content))
        except DocumentError:
            pass
    return dict(MediaItem.objects.filter(team=prompt.team, pk__in=ids).values_list("pk", "name"))


# --- the workspace: editor + previews ------------------------------------------------------------------


def _head_context(prompt: Prompt, membership, state: _State, doc: dict) -> dict:
    latest = state.latest
    items = {}
    dirty = False
    if state.draft is not None:
        _, items = _items_for(prompt.team, editor.item_ids(state.saved_doc) | editor.item_ids(doc))
        dirty = doc != editor.canonical(state.saved_doc, items)
    stale = bool(dirty and latest and state.draft and state.draft.base_number and state.draft.base_number < latest.number)
    return {
        "prompt": prompt,
        "latest": latest,
        "draft": state.draft,
        "dirty": dirty,
        "stale": stale,
        "can_edit": membership.can_edit,
    }


def _workspace(request, prompt, membership, state: _State, *, doc, settings, prompt_form=None, errors=None) -> dict:
    source, items = _items_for(prompt.team, editor.item_ids(doc))
    previews = render_previews(doc=doc, values=None, source=source, targets=targets_for(settings))
    ctx = editor.editor_context(doc, items, prompt_form)
    by_place: dict[tuple, list[PlaceRemark]] = {k: list(v) for k, v in previews.by_place.items()}
    for place, msgs in (errors or {}).items():
        by_place.setdefault(place, [])[:0] = [PlaceRemark("form", "error", m, None, []) for m in msgs]

    media_parts = set()
    slots = []
    for m in ctx["message_views"]:
        m.remarks = by_place.pop(("message", m.mi), [])
        slots.append((f"remarks-message-{m.mi}", m.remarks, "message"))
        for p in m.parts:
            p.remarks = by_place.pop(("part", p.mi, p.pi), [])
            if p.type == "media":
                media_parts.add((p.mi, p.pi))
            slots.append((f"remarks-part-{p.mi}-{p.pi}", p.remarks, "part"))
    for v in ctx["variables"]:
        v.remarks = by_place.pop(("variable", v.name), [])
        slots.append((f"remarks-var-{v.name}", v.remarks, "var"))
    system = [r for k in list(by_place) if k[0] == "system" for r in by_place.pop(k)]
    options = by_place.pop(("options",), [])
    rest = [r for bucket in by_place.values() for r in bucket]  # the prompt as a whole, or unplaced
    slots += [("remarks-system", system, "system"), ("remarks-options", options, "options"), ("remarks-prompt", rest, "prompt")]

    name = doc.get("name") or prompt.name
    for col in previews.columns:
        col.file_name = col.filename(name)
        col.curl_text = col.curl(name)
        col.httpx_text = col.httpx(name)
    head = _head_context(prompt, membership, state, doc)
    settings_form = PreviewSettingsForm(prefix="pv", initial=settings)
    return {
        **head,
        **ctx,
        "doc": doc,
        "previews": previews,
        "columns": previews.columns,
        "settings": settings,
        "settings_form": settings_form,
        "model_fields": [(key, SHORT_LABELS[key], settings_form[f"model_{key}"], key in settings["columns"]) for key in COLUMN_KEYS],
        "system_remarks": system,
        "options_remarks": options,
        "prompt_remarks": rest,
        "remark_slots": slots,
        "media_parts": media_parts,
        "varsig": editor.variable_signature(doc),
    }
