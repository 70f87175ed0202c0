"""The Team page: members, roles, invites and the audit list. The rules live in services.py;
these views parse the request, check the role (404 outside the team, 403 for a member who is not
an owner) and say what happened."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.accounts import audit, services
from playground.accounts.forms import AddMemberForm, InviteForm, RoleForm, TeamForm, first_error
from playground.accounts.models import Invite, Membership, Team
from playground.accounts.teams import SESSION_KEY, current_membership, require_membership
from playground.lib.ids import parse_id


def _require_owner(request, team_id: int) -> Membership:
    membership = require_membership(request, team_id)  # 404 outside the team
    if not membership.is_owner:
        raise PermissionDenied(services.OWNERS_ONLY)
    return membership


def _back_to_team():
    return redirect("accounts:team")


@require_GET
def team_overview(request):
    membership = current_membership(request)
    context = {"teams": Team.objects.for_user(request.user), "membership": membership, "members": [],
               "team_form": TeamForm()}
    if membership:
        team = membership.team
        context["members"] = (Membership.objects.filter(team=team).select_related("user")
                              .order_by("user__username"))
        if membership.is_owner:
            context.update(
                invites=Invite.objects.usable().filter(team=team).select_related("created_by"),
                invite_form=InviteForm(),
                add_form=AddMemberForm(),
                roles=Membership.Role.choices,
                audit_page=audit.page_of(team, request.GET.get("page")),
            )
    return render(request, "accounts/team.html", context)


@require_POST
def team_switch(request):
    # Not a number (or too big to be an id): no team, the same message as another team's id.
    team_id = parse_id(request.POST.get("team", ""))
    team = Team.objects.for_user(request.user).filter(pk=team_id).first() if team_id else None
    if team is None:
        messages.error(request, "You are not a member of that team.")
    else:
        request.session[SESSION_KEY] = team.pk
        messages.success(request, f"Now working in {team.name}.")
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        # A URL as given: redirect() would take "abc" for a view name and fail to reverse it.
        return HttpResponseRedirect(next_url)
    return redirect("uploads:library")


@require_POST
def team_create(request):
    form = TeamForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _back_to_team()
    try:
        team = services.create_team(user=request.user, name=form.cleaned_data["name"])
    except services.Refused as refused:
        messages.error(request, str(refused))
        return _back_to_team()
    request.session[SESSION_KEY] = team.pk
    messages.success(request, f"Created {team.name}. You are its owner: invite people below.")
    return _back_to_team()


@require_POST
def team_leave(request):
    team_id = parse_id(request.POST.get("team", ""))
    team = Team.objects.for_user(request.user).filter(pk=team_id).first() if team_id else None
    if team is None:
        messages.error(request, "You are not a member of that team.")
        return _back_to_team()
    try:
        services.leave(team=team, user=request.user)
    except services.Refused as refused:
        messages.error(request, str(refused))
        return _back_to_team()
    if request.session.get(SESSION_KEY) == team.pk:
        del request.session[SESSION_KEY]
    messages.success(request, f"You left {team.name}.")
    return _back_to_team()


# --- invites -----------------------------------------------------------------------------------------


@require_POST
@never_cache
def invite_create(request, team_id: int):
    membership = _require_owner(request, team_id)
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _back_to_team()
    data = form.cleaned_data
    try:
        invite, token = services.create_invite(team=membership.team, actor=request.user, role=data["role"],
                                               max_uses=data["max_uses"], days=data["days"])
    except services.Refused as refused:
        messages.error(request, str(refused))
        return _back_to_team()
    # Shown on this answer only (never stored, never cached): the owner copies it now.
    link = request.build_absolute_uri(reverse("accounts:invite_accept", args=[token]))
    return render(request, "accounts/invite_created.html", {"invite": invite, "link": link, "team": membership.team})


@require_POST
def invite_revoke(request, invite_id: int):
    invite = get_object_or_404(Invite.objects.select_related("team"), pk=invite_id)
    _require_owner(request, invite.team_id)
    try:
        services.revoke_invite(invite=invite, actor=request.user)
    except services.Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Revoked invite #{invite.pk}: its link no longer works.")
    return _back_to_team()


@require_http_methods(["GET", "POST"])
@never_cache
def invite_accept(request, token: str):
    """The invite link. Anything but a usable invite is a 404 that says nothing (a guessed,
    used-up, expired or revoked token look the same)."""
    invite = services.find_invite(token)
    if invite is None:
        raise Http404("Not found")
    member = Membership.objects.filter(team=invite.team, user=request.user).first()
    if request.method == "GET":
        return render(request, "accounts/invite.html", {"invite": invite, "team": invite.team, "member": member})
    try:
        services.accept_invite(token=token, user=request.user)
    except services.Refused as refused:
        messages.error(request, str(refused))
        return _back_to_team()
    request.session[SESSION_KEY] = invite.team_id
    messages.success(request, f"You joined {invite.team.name} as {invite.get_role_display().lower()}.")
    return redirect("prompts:list")


# --- members -----------------------------------------------------------------------------------------


@require_POST
def member_add(request, team_id: int):
    membership = _require_owner(request, team_id)
    form = AddMemberForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _back_to_team()
    try:
        added = services.add_member(team=membership.team, actor=request.user, username=form.cleaned_data["username"],
                                    role=form.cleaned_data["role"])
    except services.Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Added {added.user.get_username()} as {added.get_role_display().lower()}.")
    return _back_to_team()


def _member_of_my_team(request, membership_id: int) -> Membership:
    target = get_object_or_404(Membership.objects.select_related("team", "user"), pk=membership_id)
    _require_owner(request, target.team_id)
    return target


@require_POST
def member_role(request, membership_id: int):
    target = _member_of_my_team(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _back_to_team()
    try:
        changed = services.change_role(membership=target, actor=request.user, role=form.cleaned_data["role"])
    except services.Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{changed.user.get_username()} is now {changed.get_role_display().lower()}.")
    return _back_to_team()


@require_POST
def member_remove(request, membership_id: int):
    target = _member_of_my_team(request, membership_id)
    try:
        services.remove_member(membership=target, actor=request.user)
    except services.Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Removed {target.user.get_username()} from {target.team.name}.")
    return _back_to_team()
