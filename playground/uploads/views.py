from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, reswap, retarget

from playground.accounts.teams import current_membership, current_team, require_membership
from playground.lib.ids import MAX_ID, parse_id
from playground.lib.serving import serve_stored_file
from playground.uploads import enqueue, services
from playground.uploads.forms import LibraryFilterForm, UrlAddForm, VariantForm
from playground.uploads.identify import MediaRejected
from playground.uploads.models import MediaItem, MediaVariant, VariantFile
from playground.uploads.variants import VariantError


def _get_item(request, item_id: int, *, edit: bool = False) -> MediaItem:
    item = get_object_or_404(MediaItem.objects.select_related("file", "thumbnail"), pk=item_id)
    require_membership(request, item.team_id, edit=edit)  # 404 for other teams' items
    return item


def _can_edit(request) -> bool:
    membership = current_membership(request)
    return bool(membership and membership.can_edit)


# --- library -------------------------------------------------------------------------------------


LIBRARY_PAGE_SIZE = 120  # cards per "Show more"; the grid stays quick to draw with thumbnails


@require_GET
@never_cache  # Back after an upload must show the new cards, not the browser's old copy
def library(request):
    team = current_team(request)
    form = LibraryFilterForm(request.GET or None)
    items = MediaItem.objects.for_team(team).select_related("thumbnail")
    if form.is_valid():
        if kind := form.cleaned_data["kind"]:
            items = items.filter(kind=kind)
        if q := form.cleaned_data["q"]:
            items = items.filter(Q(name__icontains=q) | Q(source_url__icontains=q))
    page = Paginator(items, LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
    next_query = ""
    if page.has_next():
        query = request.GET.copy()
        query["page"] = page.next_page_number()
        next_query = query.urlencode()
    template = "uploads/library.html"
    if request.htmx and request.htmx.target in ("media-grid", "more-media"):
        template += "#media-grid" if request.htmx.target == "media-grid" else "#media-page"
    counts = dict(MediaItem.objects.for_team(team).values_list("kind").annotate(n=Count("pk")).order_by())
    return render(
        request,
        template,
        {
            "page": page,
            "next_query": next_query,
            "remaining": page.paginator.count - page.end_index(),
            "filter_form": form,
            "url_form": UrlAddForm(),
            "kinds": MediaItem.Kind.choices,
            "counts": counts,
            "can_edit": _can_edit(request),
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
            "max_upload_mb": settings.MAX_UPLOAD_MB,
        },
    )


@require_POST
def upload(request):
    """One or more files; answers with one card per file: the item, or the reason it was refused."""
    membership = current_membership(request)
    if membership is None or not membership.can_edit:
        return _refused_card("", "Your role in this team is read-only.", status=403)
    files = request.FILES.getlist("file")
    if not files:
        return _refused_card("", "No file was received. Choose or drop a file to upload.")
    cards, _ = upload_cards(request, team=membership.team, files=files)
    return HttpResponse("".join(cards))


def upload_cards(request, *, team, files) -> tuple[list[str], list[MediaItem]]:
    """Add each uploaded file to team's library: a media card per file (or its refusal), and the items."""
    cards, items = [], []
    for uploaded in files:
        try:
            added = services.add_upload(team=team, user=request.user, uploaded_file=uploaded)
        except MediaRejected as exc:
            cards.append(render_to_string("uploads/_refused_card.html", {"name": uploaded.name, "reason": exc}))
            continue
        if added.created:
            _queue_preview(added.item)
        elif request.htmx and request.htmx.target == "picker-upload-result":
            # The editor's picker: say so where the user looks, with the item to use, rather than
            # put it into the prompt at once (the picker would close over the message).
            cards.append(render_to_string("prompts/_picker.html#upload-duplicate", {
                "item": added.item, "target": request.POST.get("target", ""),
                "prompt_id": request.resolver_match.kwargs.get("prompt_id"),
            }, request=request))
            continue
        items.append(added.item)
        cards.append(render_to_string("uploads/_media_card.html", {"item": added.item, "notice": _notice(added)},
                                      request=request))
    return cards, items


def _notice(added: services.Added) -> str | None:
    if added.created:
        return None
    return f"Already in your library as “{added.item.name}” (added {added.item.created_at:%Y-%m-%d}); nothing new was stored."


def _queue_preview(item: MediaItem) -> None:
    # HEIC and TIFF: browsers cannot draw them, so the item page shows a converted copy, made now.
    if services.needs_preview(item):
        enqueue.request_variant(item, services.PREVIEW_SPEC)


@require_POST
def add_url(request):
    membership = current_membership(request)
    if membership is None or not membership.can_edit:
        return _refused_card("", "Your role in this team is read-only.", status=403)
    form = UrlAddForm(request.POST)
    if not form.is_valid():
        reason = "; ".join(err for errs in form.errors.values() for err in errs)
        return _refused_card(request.POST.get("url", ""), reason)
    try:
        added = services.add_from_url(
            team=membership.team,
            user=request.user,
            url=form.cleaned_data["url"],
            keep_as_reference=form.cleaned_data["mode"] == UrlAddForm.REFERENCE,
        )
    except MediaRejected as exc:
        return _refused_card(form.cleaned_data["url"], str(exc))
    if added.created:
        _queue_preview(added.item)
    context = {"item": added.item, "notice": _notice(added)}
    response = render(request, "uploads/_media_card.html", context)
    # The form targets the message queue (for refusals); a new item belongs at the top of the grid.
    return reswap(retarget(response, "#media-grid"), "afterbegin")


def _refused_card(name: str, reason: str, status: int = 200) -> HttpResponse:
    # 200 so htmx swaps the message in; the card itself says it was refused.
    html = render_to_string("uploads/_refused_card.html", {"name": name, "reason": reason})
    return HttpResponse(html, status=status)


# --- one item ------------------------------------------------------------------------------------


@require_GET
def item_detail(request, item_id: int):
    item = _get_item(request, item_id)
    page = None
    if item.kind == MediaItem.Kind.PDF and item.file_id and item.page_count:
        # ?page=N: out of range or not a number shows the nearest page, never an error.
        asked = parse_id(request.GET.get("page")) or 1
        page = min(max(asked, 1), item.page_count)
    return render(
        request,
        "uploads/detail.html",
        {
            "item": item,
            "page": page,
            "preview": services.preview_variant(item),
            "needs_preview": services.needs_preview(item),
            "variants": services.variants_of(item),
            "variant_form": VariantForm(kind=item.kind),
            "used_by": item.prompt_uses.select_related("version__prompt").order_by("-version__created_at")[:20],
            "can_edit": require_membership(request, item.team_id).can_edit,
        },
    )


@require_POST
def item_delete(request, item_id: int):
    item = _get_item(request, item_id, edit=True)
    name = item.name
    try:
        services.delete_item(item)
    except services.ItemInUse as exc:
        messages.error(request, str(exc))
        return redirect("uploads:detail", item_id=item_id)
    messages.success(request, f"Deleted “{name}”.")
    return redirect("uploads:library")


@require_GET
def item_file(request, item_id: int):
    item = _get_item(request, item_id)
    if item.file is None:
        raise Http404("This item is a URL reference; its bytes are not stored.")
    return serve_stored_file(request, item.file, filename=item.name, signed_redirect=True)


@require_GET
def item_thumbnail(request, item_id: int):
    item = _get_item(request, item_id)
    if item.thumbnail is None:
        raise Http404("No thumbnail")
    return serve_stored_file(request, item.thumbnail, filename=f"{item.name}.thumbnail", cache_seconds=86400,
                             signed_redirect=True)


@require_GET
def item_page(request, item_id: int, page: int):
    """Page N of a stored PDF as a picture, drawn in the sandbox on the first ask and cached
    (services.pdf_page); the browser keeps it for a day."""
    item = _get_item(request, item_id)
    if item.kind != MediaItem.Kind.PDF or item.file_id is None or not 1 <= page <= (item.page_count or 0):
        raise Http404("No such page")
    try:
        data = services.pdf_page(item, page)
    except (VariantError, services.VariantUnavailable) as exc:
        return HttpResponse(str(exc), status=422, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="image/webp")
    response["Cache-Control"] = f"private, max-age={services.PDF_PAGE_CACHE_SECONDS}"
    return response


# --- variants ------------------------------------------------------------------------------------


@require_POST
def variant_create(request, item_id: int):
    item = _get_item(request, item_id, edit=True)
    form = VariantForm(request.POST, kind=item.kind)
    error = None
    if form.is_valid():
        try:
            enqueue.request_variant(item, form.spec())
        except services.VariantUnavailable as exc:
            error = str(exc)
    else:
        error = "; ".join(err for errs in form.errors.values() for err in errs)
    return _variant_list(request, item, error=error)


@require_GET
def variant_list(request, item_id: int):
    item = _get_item(request, item_id)
    return _variant_list(request, item)


def _variant_list(request, item: MediaItem, error: str | None = None) -> HttpResponse:
    variants = services.variants_of(item)
    pending = any(v.status == MediaVariant.Status.PENDING for v in variants)
    response = render(
        request, "uploads/_variant_list.html",
        {"item": item, "variants": variants, "pending": pending, "error": error, "can_edit": _can_edit(request)}
    )
    if request.method == "GET" and not pending and request.htmx:
        # Poll answered with the final state: tell htmx to stop asking.
        response.status_code = HttpResponseStopPolling.status_code
    return response


@require_POST
def variant_delete(request, item_id: int, variant_id: int):
    item = _get_item(request, item_id, edit=True)
    variant = get_object_or_404(MediaVariant, pk=parse_id(variant_id) or 0, source_id=item.file_id or "")
    error = None
    try:
        services.delete_variant(item, variant)
    except (services.VariantInUse, services.VariantUnavailable) as exc:
        error = str(exc)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, "Variant deleted.")
        return redirect("uploads:detail", item_id=item.pk)
    return _variant_list(request, item, error=error)


@require_GET
def variant_file(request, item_id: int, variant_id: int, position: int):
    item = _get_item(request, item_id)
    if parse_id(variant_id) is None or position > MAX_ID:  # no such row; a huge number would overflow the query
        raise Http404("No such variant file")
    variant_file = get_object_or_404(
        VariantFile.objects.select_related("file"),
        variant_id=variant_id,
        variant__source_id=item.file_id,
        position=position,
    )
    ext = variant_file.file.mime_type.split("/")[-1]
    return serve_stored_file(request, variant_file.file, filename=f"{item.name}.variant{position}.{ext}",
                             signed_redirect=True)
