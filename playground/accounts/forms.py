"""The Team page's forms: what a person types, checked before services.py acts on it."""

from django import forms

from playground.accounts import services
from playground.accounts.models import Membership

ROLE_HELP = ("Owner: members, providers and keys. Editor: prompts, media and runs. "
             "Viewer: sees, reviews and rates; changes nothing.")


class TeamForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=100)


class InviteForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER, help_text=ROLE_HELP)
    max_uses = forms.IntegerField(label="Uses", min_value=1, max_value=services.MAX_INVITE_USES, initial=1,
                                  help_text="1: a link for one person.")
    days = forms.IntegerField(label="Expires after (days)", min_value=1, max_value=services.MAX_INVITE_DAYS, initial=7)


class AddMemberForm(forms.Form):
    username = forms.CharField(label="User name", max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


def first_error(form: forms.Form) -> str:
    """One line for a flash message: the first field's label and its first error."""
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label or name.replace("_", " ").capitalize()) if field else ""
        return f"{label}: {errors[0]}" if label else errors[0]
    return "Check the form."
