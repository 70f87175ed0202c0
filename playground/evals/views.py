"""Evaluation sets' pages. Thin: every write is services.py's (or imports.py's via enqueue.py).

Access: a set, case or import is looked up, then require_membership(its team): another team's
gets a 404; writes need edit=True (viewers get 403 and nothing changes)."""

import json
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from playground.accounts.teams import current_membership, current_team, require_membership
from playground.evals import enqueue, imports, services
from playground.evals.forms import CaseFilterForm, CaseForm, NewSetForm, PickerFilterForm, SetForm
from playground.evals.models import EvalCase, EvalImport, EvalSet
from playground.evals.upload_handlers import ArchiveUploadHandler, zip_max_mb
from playground.lib.ids import parse_id
from playground.uploads.models import MediaItem
from playground.uploads.upload_handlers import CappedUploadHandler, OversizeUpload

CASES_PAGE_SIZE = 50
PICKER_PAGE_SIZE = 60


def _lookup(model, pk, request, *, edit=False, team_of=lambda obj: obj.team_id, related=()):
    if parse_id(pk) is None:
        raise Http404("Not found")
    obj = get_object_or_404(model.objects.select_related(*related), pk=pk)
    membership = require_membership(request, team_of(obj), edit=edit)  # 404 for another team's
    return obj, membership


def _get_set(request, set_id, *, edit=False):
    return _lookup(EvalSet, set_id, request, edit=edit)


def _get_case(request, case_id, *, edit=False):
    return _lookup(EvalCase, case_id, request, edit=edit, team_of=lambda c: c.set.team_id, related=("set",))


def _first_error(form) -> str:
    return "; ".join(f"{name}: {err}" if name != "__all__" else err for name, errs in form.errors.items() for err in errs)


# --- sets ------------------------------------------------------------------------------------------


@require_GET
@never_cache
def set_list(request):
    team = current_team(request)
    membership = current_membership(request)
    return render(request, "evals/list.html", {
        "summaries": services.set_summaries(team), "new_form": NewSetForm(), "can_edit": membership.can_edit,
    })


@require_POST
def set_create(request):
    membership = current_membership(request)
    if membership is None or not membership.can_edit:
        return HttpResponse("Your role in this team is read-only.", status=403)
    form = NewSetForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The set was not created: {_first_error(form)}")
        return redirect("evals:list")
    eval_set = services.create_set(team=membership.team, user=request.user, name=form.cleaned_data["name"],
                                   expected_kind=form.cleaned_data["expected_kind"] or "text")
    return redirect("evals:detail", set_id=eval_set.pk)


@require_GET
@never_cache
def set_detail(request, set_id: int):
    eval_set, membership = _get_set(request, set_id)
    form = CaseFilterForm(request.GET or None)
    tag = q = ""
    if form.is_valid():
        tag, q = form.cleaned_data["tag"], form.cleaned_data["q"]
    page = Paginator(services.browse(eval_set, tag=tag, q=q), CASES_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "set": eval_set, "page": page, "filter_form": form, "tag": tag, "q": q, "query": query.urlencode(),
        "can_edit": membership.can_edit, "tags": services.tag_counts(eval_set),
        "kind_counts": services.media_kind_counts(eval_set),
        "set_form": SetForm(initial={
            "name": eval_set.name, "description": eval_set.description, "expected_kind": eval_set.expected_kind,
            "labels": "\n".join(f"{e['label']}: {', '.join(e['synonyms'])}" if e["synonyms"] else e["label"]
                                for e in eval_set.labels),
            "scorers": json.dumps(eval_set.scorers) if eval_set.scorers else "",
        }),
        "imports": list(eval_set.imports.all()[:3]),
        "max_upload_mb": settings.MAX_UPLOAD_MB, "zip_max_mb": zip_max_mb(), "max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        "rows": [(case, services.expected_text(case)) for case in page.object_list],
    }
    template = "evals/detail.html"
    if request.htmx and request.htmx.target == "cases":
        template += "#cases"
    return render(request, template, context)


@require_POST
def set_edit(request, set_id: int):
    eval_set, _ = _get_set(request, set_id, edit=True)
    form = SetForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing was changed: {_first_error(form)}")
        return redirect("evals:detail", set_id=eval_set.pk)
    try:
        services.update_set(eval_set, **form.cleaned_data)
    except services.Invalid as exc:
        eval_set.refresh_from_db()
        messages.error(request, f"Nothing was changed: {exc}")
    else:
        messages.success(request, "Saved.")
    return redirect("evals:detail", set_id=eval_set.pk)


@require_POST
def set_delete(request, set_id: int):
    eval_set, _ = _get_set(request, set_id, edit=True)
    name = eval_set.name
    try:
        services.delete_set(eval_set)
    except services.SetInUse as exc:
        messages.error(request, str(exc))
        return redirect("evals:detail", set_id=eval_set.pk)
    messages.success(request, f"Deleted “{name}” and its cases (the media stay in the library).")
    return redirect("evals:list")


# --- adding cases ----------------------------------------------------------------------------------


@require_POST
def case_upload(request, set_id: int):
    eval_set, _ = _get_set(request, set_id, edit=True)
    files = request.FILES.getlist("file")
    if not files:
        messages.error(request, "No file was received. Choose files to add, one case each.")
        return redirect("evals:detail", set_id=eval_set.pk)
    cases, refused = services.cases_from_uploads(eval_set, user=request.user, files=files)
    if cases:
        messages.success(request, f"Added {len(cases)} case(s); fill in their expected answers below.")
    for r in refused:
        messages.error(request, f"{r.name} was not added: {r.reason}")
    return redirect("evals:detail", set_id=eval_set.pk)


@require_GET
def library_picker(request, set_id: int):
    eval_set, membership = _get_set(request, set_id)
    form = PickerFilterForm(request.GET or None)
    items = MediaItem.objects.for_team(eval_set.team).select_related("thumbnail")
    if form.is_valid():
        if kind := form.cleaned_data["kind"]:
            items = items.filter(kind=kind)
        if q := form.cleaned_data["q"]:
            items = items.filter(name__icontains=q)
    page = Paginator(items, PICKER_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "evals/picker.html", {
        "set": eval_set, "page": page, "filter_form": form, "query": query.urlencode(), "can_edit": membership.can_edit,
    })


@require_POST
def cases_from_library(request, set_id: int):
    eval_set, _ = _get_set(request, set_id, edit=True)
    ids = [i for raw in request.POST.getlist("items") if (i := parse_id(raw)) is not None]
    cases = services.cases_from_items(eval_set, ids)
    if cases:
        messages.success(request, f"Added {len(cases)} case(s) from the library.")
    else:
        messages.error(request, "No library item was chosen.")
    return redirect("evals:detail", set_id=eval_set.pk)


@csrf_exempt  # checked below, after the upload handlers are swapped (reading the body for CSRF would fix them)
@require_POST
def import_zip(request, set_id: int):
    _get_set(request, set_id, edit=True)  # before reading the body: a viewer's upload is not received
    request.upload_handlers = [ArchiveUploadHandler(request),
                               *(h for h in request.upload_handlers if not isinstance(h, CappedUploadHandler))]
    return _import_zip(request, set_id)


@csrf_protect
def _import_zip(request, set_id: int):
    eval_set, _ = _get_set(request, set_id, edit=True)
    uploaded = request.FILES.get("file")
    if uploaded is None:
        messages.error(request, "No file was received. Choose a ZIP to import.")
        return redirect("evals:detail", set_id=eval_set.pk)
    if isinstance(uploaded, OversizeUpload):
        messages.error(request, f"The ZIP is larger than the {zip_max_mb():,} MB limit for imports.")
        return redirect("evals:detail", set_id=eval_set.pk)
    try:
        enqueue.queue_import(eval_set, user=request.user, path=Path(uploaded.temporary_file_path()),
                             file_name=uploaded.name or "upload.zip")
    except imports.ImportRefused as exc:
        messages.error(request, str(exc))
    return redirect("evals:detail", set_id=eval_set.pk)


@require_GET
def import_status(request, import_id: int):
    job, _ = _lookup(EvalImport, import_id, request, team_of=lambda j: j.set.team_id, related=("set",))
    response = render(request, "evals/_import.html", {"job": job})
    if job.finished and request.htmx:
        response.status_code = HttpResponseStopPolling.status_code  # the final state: htmx stops asking
    return response


@require_GET
def export_zip(request, set_id: int):
    eval_set, _ = _get_set(request, set_id)
    # Spooled to disk: a set's media may be far larger than memory should hold. FileResponse closes it.
    out = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115
    try:
        imports.export_set(eval_set, out)
    except imports.ImportRefused as exc:
        out.close()
        messages.error(request, f"The set cannot be exported: {exc}")
        return redirect("evals:detail", set_id=eval_set.pk)
    out.seek(0)
    stem, _ = imports.safe_file_name(eval_set.name.replace("/", " ").replace("\\", " ") + ".zip")
    return FileResponse(out, as_attachment=True, filename=f"{stem}.zip", content_type="application/zip")


# --- one case (inline, htmx) -------------------------------------------------------------------------


def _row(request, case, membership, *, form=None, error=None, status=200):
    template = "evals/_case_row.html" if form is None else "evals/_case_form.html"
    return render(request, template, {
        "case": case, "expected": services.expected_text(case), "form": form, "error": error,
        "can_edit": membership.can_edit, "set": case.set,
    }, status=status)


@require_GET
def case_row(request, case_id: int):
    case, membership = _get_case(request, case_id)
    return _row(request, case, membership)


@require_http_methods(["GET", "POST"])
def case_edit(request, case_id: int):
    case, membership = _get_case(request, case_id, edit=request.method == "POST")
    if request.method == "GET":
        if not membership.can_edit:
            return _row(request, case, membership)  # a viewer reads the row; there is nothing to edit
        form = CaseForm(initial={"expected": services.expected_text(case), "kind": case.expected_kind,
                                 "tags": "; ".join(case.tags), "fields": services.fields_text(case)})
        return _row(request, case, membership, form=form)
    form = CaseForm(request.POST)
    if not form.is_valid():
        return _row(request, case, membership, form=form, error=_first_error(form))
    try:
        services.update_case(case, **form.cleaned_data)
    except services.Invalid as exc:
        case.refresh_from_db()
        return _row(request, case, membership, form=form, error=str(exc))
    return _row(request, case, membership)


@require_POST
def case_delete(request, case_id: int):
    case, _ = _get_case(request, case_id, edit=True)
    set_id = case.set_id
    services.delete_case(case)
    if request.htmx:
        return HttpResponse("")  # the row is swapped out
    return redirect("evals:detail", set_id=set_id)
