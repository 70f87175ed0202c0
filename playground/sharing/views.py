"""Share links: the visitor's pages (anyone holding a link: no login) and the sharer's (members of
the prompt's team; editors and owners make, revoke and re-time links, viewers see the list).

Every answer under a token, pages, media and 404s alike, says noindex and sends no referrer
(`_shared`); the fork page alone sends one to Prism itself (same-origin), which its form's POST
needs (see _fork_view). An unknown, revoked or expired token is the same 404, and so is a media id the
shared version does not name: nothing tells a guesser which it was.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.accounts.teams import require_membership
from playground.lib.serving import serve_stored_file
from playground.prompts.models import Prompt
from playground.sharing import display, services
from playground.sharing.forms import ExpiryForm, ForkForm, LinkForm
from playground.sharing.models import ShareLink

ROBOTS = "noindex, nofollow"


def _shared(view, *, referrer_policy: str = "no-referrer"):
    """A visitor's view: anyone may call it; its answer (a 404 too) is not indexed and, by
    default, sends no referrer."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            response = render(request, "sharing/gone.html", status=404)
            response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = ROBOTS
        response.setdefault("Referrer-Policy", referrer_policy)
        if not response.has_header("Cache-Control"):  # a 404 or 405: nobody keeps it either
            response["Cache-Control"] = "private, no-cache"
        return response

    return login_not_required(wrapped)


def _live(token: str) -> tuple[ShareLink, object]:
    """The live link for token and the version it shows; 404 for anything else."""
    link = ShareLink.objects.live().for_token(token)
    version = link.shown_version() if link else None
    if version is None:
        raise Http404("No such link")
    return link, version


def _login_first(path: str):
    return redirect(reverse("accounts:login") + "?" + urlencode({"next": path}))


# --- the visitor's side --------------------------------------------------------------------------


@_shared
@require_GET
@never_cache  # revoking must take effect at once, also for a visitor's Back button
def shared_page(request, token: str):
    link, version = _live(token)
    page = display.shared_page(link, version)
    ShareLink.count_view(link.pk)  # the one write of a visit
    fork_url = reverse("sharing:fork", args=[token])
    if not request.user.is_authenticated:
        fork_url = reverse("accounts:login") + "?" + urlencode({"next": fork_url})
    return render(request, "sharing/page.html", {"page": page, "token": token, "fork_url": fork_url})


def _item(token: str, item_id: int):
    link, version = _live(token)
    item = display.shared_item(link, version, item_id)
    if item is None:
        raise Http404("No such media")
    return item


@_shared
@require_GET
def shared_file(request, token: str, item_id: int):
    item = _item(token, item_id)
    if item.file is None:
        raise Http404("A URL reference: its bytes are not stored")
    # No caching beyond revalidation: the link's media must stop the moment it is revoked.
    return serve_stored_file(request, item.file, filename=item.name)


@_shared
@require_GET
def shared_thumbnail(request, token: str, item_id: int):
    item = _item(token, item_id)
    if item.thumbnail is None:
        raise Http404("No thumbnail")
    return serve_stored_file(request, item.thumbnail, filename=f"{item.name}.thumbnail")


def _fork_view(view):
    # Referrer-Policy same-origin, not no-referrer: under no-referrer a browser sends "Origin: null"
    # with the form's POST and CSRF protection refuses it. same-origin still sends nothing to any
    # other site (the page links nowhere else); Prism itself already knows the token.
    return _shared(view, referrer_policy="same-origin")


@_fork_view
@require_http_methods(["GET", "POST"])
@never_cache
def fork(request, token: str):
    """Copy the shared version, with its media, into one of the visitor's teams (editor or owner):
    GET asks which team, POST forks."""
    link, version = _live(token)
    if not request.user.is_authenticated:
        return _login_first(reverse("sharing:fork", args=[token]))
    if request.method == "GET":
        return _fork_page(request, link, version, token, ForkForm(user=request.user))
    form = ForkForm(request.POST, user=request.user)
    team_id = form.team_id()
    if team_id is None:
        return _fork_page(request, link, version, token, form, 400, "Choose one of your teams to fork into.")
    try:
        membership = require_membership(request, team_id, edit=True)  # 404: not a member of it
        forked = services.fork(link, version, team=membership.team, user=request.user)
    except PermissionDenied:
        return _fork_page(request, link, version, token, form, 403,
                          "Your role in that team is read-only: fork into a team where you are an editor or owner.")
    except services.ForkRefused as exc:
        return _fork_page(request, link, version, token, form, 409, f"Not forked: {exc}")
    messages.success(request, f"Forked “{link.prompt.name}” v{version.number} into {membership.team.name}.")
    return redirect("prompts:edit", prompt_id=forked.pk)


def _fork_page(request, link, version, token, form, status: int = 200, error: str = ""):
    context = {"link": link, "version": version, "name": link.prompt.name, "token": token, "form": form,
               "error": error}
    return render(request, "sharing/fork.html", context, status=status)


# --- the sharer's side -----------------------------------------------------------------------------


def _get_prompt(request, prompt_id: int, *, edit: bool = False):
    prompt = get_object_or_404(Prompt, pk=prompt_id)
    return prompt, require_membership(request, prompt.team_id, edit=edit)


def _get_link(request, link_id: int) -> ShareLink:
    link = get_object_or_404(ShareLink.objects.select_related("prompt"), pk=link_id)
    require_membership(request, link.prompt.team_id, edit=True)
    return link


@require_GET
@never_cache
def manage(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id)
    return render(request, "sharing/manage.html", {"prompt": prompt, "can_edit": membership.can_edit})


@require_POST
def link_create(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id, edit=True)
    form = LinkForm(request.POST, prompt=prompt)
    if not form.is_valid():
        return render(request, "sharing/manage.html", {"prompt": prompt, "can_edit": True, "link_form": form},
                      status=400)
    link, token = services.create_link(prompt=prompt, version=form.chosen_version(), runs=form.chosen_runs(),
                                       user=request.user, expires=form.cleaned_data["expires"] or "")
    url = request.build_absolute_uri(reverse("sharing:page", args=[token]))
    # The only time the link is shown. (This page's own URL holds no token, so its referrer does not either.)
    response = render(request, "sharing/manage.html", {"prompt": prompt, "can_edit": True, "new_link": link,
                                                       "new_url": url})
    response["Cache-Control"] = "no-store"  # the one page that holds the link: not kept by the browser
    return response


@require_POST
def link_revoke(request, link_id: int):
    link = _get_link(request, link_id)
    services.revoke(link, request.user)
    messages.success(request, f"Revoked the link {link.token_hint}…: its page and media no longer open.")
    return redirect(reverse("prompts:versions", args=[link.prompt_id]) + "#share-links")


@require_POST
def link_expiry(request, link_id: int):
    link = _get_link(request, link_id)
    form = ExpiryForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose when the link expires from the list.")
    else:
        services.set_expiry(link, form.cleaned_data["expires"] or "")
        messages.success(request, f"Changed when the link {link.token_hint}… expires.")
    return redirect(reverse("prompts:versions", args=[link.prompt_id]) + "#share-links")
