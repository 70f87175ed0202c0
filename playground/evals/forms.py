from django import forms

from playground.evals.models import ExpectedKind
from playground.uploads.models import MediaItem


class SetForm(forms.Form):
    name = forms.CharField(max_length=200, strip=True)
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    expected_kind = forms.ChoiceField(choices=ExpectedKind.choices, initial=ExpectedKind.TEXT, label="Expected answers are")
    labels = forms.CharField(
        required=False, max_length=100_000, widget=forms.Textarea(attrs={"rows": 3, "placeholder": "cat: kitten, kitty\ndog: puppy"}),
        help_text="For label tasks: one label a line, synonyms after a colon (or the JSON list).",
    )
    scorers = forms.CharField(
        required=False, max_length=100_000, widget=forms.Textarea(attrs={"rows": 2, "placeholder": '[{"type": "exact"}]'}),
        help_text='JSON list of scorers, each with a "type".',
    )


class NewSetForm(forms.Form):
    name = forms.CharField(max_length=200, strip=True)
    expected_kind = forms.ChoiceField(choices=ExpectedKind.choices, initial=ExpectedKind.TEXT, required=False)


class CaseFilterForm(forms.Form):
    tag = forms.CharField(required=False, max_length=100)
    q = forms.CharField(required=False, max_length=200, label="Search")


class CaseForm(forms.Form):
    expected = forms.CharField(required=False, max_length=100_000, strip=False, widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(choices=[("", "Set's kind")] + ExpectedKind.choices, required=False)
    tags = forms.CharField(required=False, max_length=6000, help_text="separated by ;")
    fields = forms.CharField(required=False, max_length=1_000_000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="one a line: name: value")


class PickerFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "All")] + MediaItem.Kind.choices, required=False)
    q = forms.CharField(required=False, max_length=200, label="Search")
