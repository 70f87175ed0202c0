"""Prompts: the list, the editor with its live previews, versions (history, diff, restore), the
exact request bodies, export and import.

The editor page is one form (see editor.py). Typing posts it to `preview` (debounced), which
answers with the preview columns plus out-of-band updates of the remarks shown on each part;
buttons that change the structure post it to `editor_action`, which answers with the re-drawn
editor plus the columns. Both keep the user's working draft (PromptDraft), so nothing typed is
lost; "Save version" turns the draft into an immutable version.

The views parse the request, check access, call services.py (every write; what the editor shows,
EditorState, is read there without writing, so no GET writes) and render: workspace.py makes what
the editor page draws.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.db.models import Max
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from playground.accounts.teams import current_membership, current_team, require_membership
from playground.lib.ids import parse_id
from playground.prompts import editor, services
from playground.prompts.document import DocumentError, normalize
from playground.prompts.forms import DiffForm, ImportForm, NewPromptForm
from playground.prompts.library_source import LibrarySource
from playground.prompts.models import Prompt, PromptVersion
from playground.prompts.previews import COLUMN_KEYS, LABELS, body_filename, columns_for, render_previews
from playground.prompts.services import EditorState, document_of
from playground.prompts.workspace import head_context, workspace_context
from playground.uploads.models import MediaItem
from playground.uploads.views import upload_cards


def _get_prompt(request, prompt_id: int, *, edit: bool = False):
    """The prompt and the user's membership of its team; 404 for another team's prompt."""
    prompt = get_object_or_404(Prompt, pk=prompt_id)
    membership = require_membership(request, prompt.team_id, edit=edit)
    return prompt, membership


def _get_version(prompt: Prompt, number: int) -> PromptVersion:
    return get_object_or_404(PromptVersion, prompt=prompt, number=number)


def _stamp(request) -> int:
    # The page's clock in ms; anything else (or beyond a BigIntegerField) counts as 0.
    return parse_id(request.POST.get("stamp", "0")) or 0


def _page_base(request) -> int | None:
    # The version the page showed its draft starting from (see services.EditorState); a version
    # number is a PositiveIntegerField.
    base = parse_id(request.POST.get("base", ""))
    return base if base is not None and base < 2**31 else None


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
        if not (request.POST.get("name") or "").strip():  # empty or spaces: say what to do, not "required"
            form.errors["name"] = form.error_class(["Give the new prompt a name, then press New prompt."])
        return _list_page(request, team, membership.can_edit, new_form=form)
    prompt = services.create_prompt(team, request.user, form.cleaned_data["name"])
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
    state = EditorState(prompt, request.user)
    ctx = workspace_context(state, doc=state.doc, settings=state.settings, can_edit=membership.can_edit,
                            make_variants=False)  # a GET writes nothing: missing copies come by POST
    return render(request, "prompts/edit.html", ctx)


@require_POST
def preview(request, prompt_id: int):
    """The preview columns for the posted editor form, plus the remarks on each part (out of band)."""
    prompt, membership = _get_prompt(request, prompt_id)
    parsed = editor.parse_editor(request.POST)
    if request.POST.get("refresh") == "pending":  # the page asking for the copies its GET did not make: nothing typed
        state = services.EditorState(prompt, request.user)
    else:
        state = services.save_draft(prompt, request.user, parsed.doc, parsed.settings, stamp=_stamp(request),
                                    page_base=_page_base(request))
    ctx = workspace_context(state, doc=parsed.doc, settings=parsed.settings, can_edit=membership.can_edit,
                            prompt_form=parsed.prompt_form, errors=parsed.errors)
    ctx["variables_changed"] = request.POST.get("varsig") != ctx["varsig"]
    return render(request, "prompts/_preview_response.html", ctx)


@require_POST
def editor_action(request, prompt_id: int):
    """Add, move or remove a message, part or value; pick media; apply a fallback. Answers with
    the editor re-drawn and the previews, and puts the focus where the action left off."""
    prompt, membership = _get_prompt(request, prompt_id)
    parsed = editor.parse_editor(request.POST)
    edited = services.edit_draft(prompt, request.user, parsed, request.POST.get("action", ""),
                                 pick=request.POST.get("pick"), stamp=_stamp(request), page_base=_page_base(request))
    ctx = workspace_context(edited.state, doc=edited.doc, settings=edited.settings, can_edit=membership.can_edit,
                            prompt_form=parsed.prompt_form, errors=edited.errors)
    ctx["focus"] = edited.focus
    ctx["settings_changed"] = edited.settings_changed
    return render(request, "prompts/_editor_response.html", ctx)


@require_POST
def prompt_save(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id, edit=True)
    parsed = editor.parse_editor(request.POST)
    saved = services.save_draft_as_version(
        prompt, request.user, parsed.doc, parsed.settings, stamp=_stamp(request), page_base=_page_base(request),
        form_problems=[m for msgs in parsed.errors.values() for m in msgs],
    )
    if saved.problems:
        message = ("Not saved: " + " ".join(saved.problems), "error")
    elif saved.created:
        message = (f"Saved as v{saved.version.number}.", "success")
    else:
        message = (f"No changes since v{saved.version.number}: nothing new to save.", "info")
    if not request.htmx:
        messages.add_message(request, messages.ERROR if message[1] == "error" else messages.SUCCESS, message[0])
        return redirect("prompts:edit", prompt_id=prompt.pk)
    ctx = head_context(saved.state, parsed.doc, can_edit=membership.can_edit)
    ctx.update(save_message=message[0], save_level=message[1])
    return render(request, "prompts/_save_response.html", ctx)


@require_POST
def draft_discard(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id)
    services.discard_draft(prompt, request.user)
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
    state = EditorState(prompt, request.user)
    doc = state.doc
    if request.GET.get("version"):
        try:
            doc = document_of(prompt, _get_version(prompt, int(request.GET["version"])))
        except ValueError:
            raise Http404("No such version") from None
    settings = {**state.settings, "columns": [column]}
    source = LibrarySource(prompt.team, make_variants=False)  # a GET writes nothing; the editor made the copies
    source.prefetch(editor.item_ids(doc))
    col = render_previews(doc=doc, values=None, source=source, targets=columns_for(settings, prompt.team)).columns[0]
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
    version, created = services.restore_version(prompt, old, request.user)
    if created:
        messages.success(request, f"Restored v{old.number} as v{version.number}, the newest version.")
    else:
        messages.info(request, f"v{old.number} is the same as the newest version (v{version.number}): nothing to restore.")
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
