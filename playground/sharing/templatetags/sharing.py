"""{% share_panel prompt can_edit %}: the prompt's share links and the form to make one, for the
prompt's pages (templates/sharing/_links.html is the one-line include they use). Reads only."""

from django import template
from django.db.models import Count

from playground.sharing.forms import LinkForm
from playground.sharing.models import ForkOrigin, ShareLink
from playground.sharing.services import EXPIRY_CHOICES

register = template.Library()


@register.inclusion_tag("sharing/_panel.html", takes_context=True)
def share_panel(context, prompt, can_edit, link_form=None):
    links = (ShareLink.objects.filter(prompt=prompt).select_related("version", "created_by", "revoked_by")
             .annotate(n_runs=Count("runs")).order_by("-created_at", "-id"))
    return {
        "prompt": prompt,
        "can_edit": can_edit,
        "links": links,
        "origin": ForkOrigin.objects.filter(prompt=prompt).first(),
        "link_form": link_form or (LinkForm(prompt=prompt) if can_edit else None),
        "expiry_choices": EXPIRY_CHOICES,
        "csrf_token": context.get("csrf_token"),
        "new_link": context.get("new_link"),
    }
