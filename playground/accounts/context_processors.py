from playground.accounts.teams import current_membership


def current_team(request):
    membership = current_membership(request) if hasattr(request, "user") else None
    return {
        "current_membership": membership,
        "current_team": membership.team if membership else None,
    }
