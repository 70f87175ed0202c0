"""Forms of the run screens: a new run (version, values, models), the diff of two results and the
history filters."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

VAR_PREFIX = "var-"


class NewRunForm(forms.Form):
    """Which version, which values for its text variables, which models.

    The variable fields are made from ``chosen_version`` (the version asked for, else the newest;
    ``variables``: its editor.VariableView list); media variables keep the version's value (they
    are shown, not edited: the editor picks media).
    """

    version = forms.TypedChoiceField(coerce=int, label="Version")
    models = forms.TypedMultipleChoiceField(
        coerce=int, label="Models", widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one model."},
    )

    def __init__(self, *args, chosen_version=None, versions=(), provider_models=(), variables=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.chosen_version = chosen_version
        self.fields["version"].choices = [(v.number, f"v{v.number}") for v in versions]
        self.provider_models = list(provider_models)
        self.fields["models"].choices = [(pm.pk, str(pm)) for pm in self.provider_models]
        self.variables = list(variables)
        for v in self.variables:
            if v.is_media:
                continue
            self.fields[VAR_PREFIX + v.name] = forms.CharField(
                required=False, strip=False, label=v.name,
                widget=forms.Textarea(attrs={"rows": 1, "class": "var-input"}),
            )

    def text_fields(self):
        return [self[VAR_PREFIX + v.name] for v in self.variables if not v.is_media]

    def values(self) -> dict:
        """The variable values to run with: the posted text values, the version's media values."""
        out = {}
        for v in self.variables:
            if v.is_media:
                if v.value is not None:
                    out[v.name] = v.value
            else:
                out[v.name] = self.cleaned_data.get(VAR_PREFIX + v.name, "")
        return out

    def chosen_models(self) -> list:
        chosen = set(self.cleaned_data.get("models") or ())
        return [pm for pm in self.provider_models if pm.pk in chosen]

    def groups(self):
        """The model checkboxes grouped by provider, in the catalog's order."""
        by_id = {str(w.data["value"]): w for w in self["models"]}
        groups: list[tuple] = []
        for pm in self.provider_models:
            if not groups or groups[-1][0] != pm.provider:
                groups.append((pm.provider, []))
            groups[-1][1].append((pm, by_id.get(str(pm.pk))))
        return groups


class DiffForm(forms.Form):
    # Bounded to the ids a database can hold, so a huge number is a form error, not an overflow.
    a = forms.IntegerField(label="Compare", min_value=1, max_value=2**63 - 1)
    b = forms.IntegerField(label="with", min_value=1, max_value=2**63 - 1)

    def clean(self):
        data = super().clean()
        if data.get("a") is not None and data.get("a") == data.get("b"):
            raise forms.ValidationError("Pick two different results.")
        return data


class HistoryFilterForm(forms.Form):
    """GET filters of the run history; every field is optional."""

    model = forms.ChoiceField(required=False, label="Model")
    version = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Version")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, models=(), versions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "All models")] + [(m, m) for m in models]
        if versions is None:
            del self.fields["version"]
        else:
            self.fields["version"].choices = [("", "All versions")] + [(n, f"v{n}") for n in versions]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("“From” is after “To”.")
        return data

    def filter(self, results):
        """Result queryset narrowed by the valid filters (invalid ones are ignored, with errors shown)."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("model"):
            provider, _, model = data["model"].partition(" / ")
            results = results.filter(provider_name=provider, model_name=model)
        if data.get("version"):
            results = results.filter(run__prompt_version__number=data["version"])
        if data.get("since"):
            results = results.filter(run__created_at__gte=_start_of(data["since"]))
        if data.get("until") and data["until"] < dt.date.max:  # the last day there is has no day after it
            results = results.filter(run__created_at__lt=_start_of(data["until"] + dt.timedelta(days=1)))
        return results


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight of day in the site's time zone (dates in the form are the reader's days)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())
