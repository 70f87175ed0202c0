"""Which team a request works in, and the guards views use to check it."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from playground.accounts.models import Membership, Team
from playground.lib.ids import parse_id

SESSION_KEY = "team_id"


def current_membership(request) -> Membership | None:
    """The membership of the team chosen in the session, else the user's first team."""
    if hasattr(request, "_prism_membership"):
        return request._prism_membership
    membership = None
    if request.user.is_authenticated:
        memberships = Membership.objects.filter(user=request.user).select_related("team").order_by("team__name")
        chosen = request.session.get(SESSION_KEY)
        membership = (chosen and memberships.filter(team_id=chosen).first()) or memberships.first()
    request._prism_membership = membership
    return membership


def current_team(request) -> Team:
    membership = current_membership(request)
    if membership is None:
        raise PermissionDenied("You are not a member of any team yet. Ask a team owner to add you.")
    return membership.team


def require_membership(request, team_id: int, *, edit: bool = False) -> Membership:
    """The user's membership of team_id; 404 if none (no hint that the object exists)."""
    if parse_id(team_id) is None:  # an id from a URL past any column's range would overflow the query
        raise Http404("Not found")
    membership = Membership.objects.filter(user=request.user, team_id=team_id).select_related("team").first()
    if membership is None:
        raise Http404("Not found")
    if edit and not membership.can_edit:
        raise PermissionDenied("Your role in this team is read-only.")
    return membership
