from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from playground.accounts.models import Membership, Team
from playground.accounts.teams import SESSION_KEY, current_membership
from playground.lib.ids import parse_id


@require_GET
def team_overview(request):
    membership = current_membership(request)
    members = []
    if membership:
        members = Membership.objects.filter(team=membership.team).select_related("user").order_by("user__username")
    return render(
        request,
        "accounts/team.html",
        {"teams": Team.objects.for_user(request.user), "members": members, "membership": membership},
    )


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
