"""The sharer's forms (make a link, change its expiry) and the visitor's (fork into a team)."""

from django import forms

from playground.accounts.models import Membership
from playground.lib.ids import parse_id
from playground.runs.models import Run
from playground.sharing.services import EXPIRY_CHOICES

LATEST = "latest"
RUN_CHOICES = 30  # the prompt's newest runs offered to include


class LinkForm(forms.Form):
    version = forms.ChoiceField(label="Shows")
    runs = forms.MultipleChoiceField(label="Include these runs and their results", required=False,
                                     widget=forms.CheckboxSelectMultiple)
    expires = forms.ChoiceField(label="Expires in", choices=EXPIRY_CHOICES, required=False)

    def __init__(self, *args, prompt, **kwargs):
        super().__init__(*args, **kwargs)
        self.prompt = prompt
        self.versions = {str(v.number): v for v in prompt.versions.order_by("-number")}
        self.fields["version"].choices = [(LATEST, "Always the latest version")] + [
            (n, f"v{n} only") for n in self.versions]
        self.run_rows = list(Run.objects.filter(prompt_version__prompt=prompt, team_id=prompt.team_id, origin="")  # not evaluations'
                             .select_related("prompt_version").order_by("-created_at", "-id")[:RUN_CHOICES])
        self.fields["runs"].choices = [
            (str(r.pk), f"Run {r.pk} · v{r.prompt_version.number} · {r.created_at:%Y-%m-%d %H:%M} · {r.get_status_display()}")
            for r in self.run_rows]

    def clean(self):
        data = super().clean()
        if not self.versions:
            raise forms.ValidationError("Save a version of the prompt first: a link shows a saved version.")
        return data

    def chosen_version(self):
        choice = self.cleaned_data["version"]
        return None if choice == LATEST else self.versions[choice]

    def chosen_runs(self) -> list[Run]:
        wanted = set(self.cleaned_data.get("runs") or [])
        return [r for r in self.run_rows if str(r.pk) in wanted]


class ExpiryForm(forms.Form):
    expires = forms.ChoiceField(label="Expires in", choices=EXPIRY_CHOICES, required=False)


class ForkForm(forms.Form):
    team = forms.ChoiceField(label="Into team")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = list(Membership.objects.filter(user=user).select_related("team").order_by("team__name"))
        self.fields["team"].choices = [(str(m.team_id), m.team.name) for m in self.memberships if m.can_edit]

    @property
    def has_teams(self) -> bool:
        return bool(self.fields["team"].choices)

    def team_id(self) -> int | None:
        """The team id posted (valid or not: the view checks the membership, 404 or 403)."""
        return parse_id(self.data.get("team", ""))
