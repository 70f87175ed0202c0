"""Forms of the prompt editor, the preview settings and the prompts list.

The editor is one HTML form whose fields carry prefixes (``m-0-role``, ``m-0-p-1-text``...).
Each prefix is one of the small forms below; editor.py puts them together into a prompt
document and back.
"""

import json

from django import forms
from django.core.validators import RegexValidator

from playground.lib import jsonlimits
from playground.prompts.document import DETAILS, KINDS, ROLES
from playground.protocols import anthropic_messages

VARIABLE_NAME = RegexValidator(
    r"^[A-Za-z_][A-Za-z0-9_.-]*$", "A variable name starts with a letter or _, then letters, digits, _ . or -."
)
SCHEMA_NAME = RegexValidator(r"^[A-Za-z0-9_-]{1,64}$", "Letters, digits, _ and - only, up to 64.")


class JSONRefField(forms.CharField):
    """A hidden field holding a small JSON value (a media reference, or keys the form does not show)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if value is None or value == "" or isinstance(value, str):
            return value
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return jsonlimits.loads(value)
        except jsonlimits.Refused as exc:
            raise forms.ValidationError(str(exc)) from None
        except ValueError:
            raise forms.ValidationError("This hidden value is not valid JSON; reload the editor.") from None


class PromptForm(forms.Form):
    """The prompt's name, system text and generation options."""

    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    system = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3, "placeholder": "System prompt (optional)"})
    )
    max_tokens = forms.IntegerField(
        required=False, min_value=1, max_value=1_000_000, label="Max output tokens",
        widget=forms.NumberInput(attrs={"placeholder": "default"}),
    )
    temperature = forms.FloatField(
        required=False, min_value=0, max_value=2, widget=forms.NumberInput(attrs={"step": "0.1", "placeholder": "default"})
    )
    json_schema = forms.CharField(
        required=False, label="JSON schema (structured output)",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": '{"type": "object", ...}'}),
    )
    schema_name = forms.CharField(required=False, max_length=64, validators=[SCHEMA_NAME],
                                  widget=forms.TextInput(attrs={"placeholder": "response"}))
    strict = forms.BooleanField(required=False, initial=True, label="Strict")

    def clean_json_schema(self):
        text = self.cleaned_data["json_schema"].strip()
        if not text:
            return None
        try:
            schema = jsonlimits.loads(text)
        except jsonlimits.Refused as exc:
            raise forms.ValidationError(str(exc)) from None
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}.") from None
        if not isinstance(schema, dict):
            raise forms.ValidationError("A JSON schema is an object ({...}).")
        return schema


class MessageForm(forms.Form):
    role = forms.ChoiceField(choices=[(r, r.capitalize()) for r in ROLES])


class PartForm(forms.Form):
    """One part: text, a library item (``ref``), or a slot filled from a variable."""

    TYPES = [("text", "Text"), ("media", "Media"), ("slot", "Media variable")]

    type = forms.ChoiceField(choices=TYPES, widget=forms.HiddenInput)
    text = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}))
    ref = JSONRefField()
    extra = JSONRefField()  # document keys the editor does not show, kept as they were
    variable = forms.CharField(required=False, max_length=100, validators=[VARIABLE_NAME])
    kind = forms.ChoiceField(choices=[(k, k.upper() if k == "pdf" else k.capitalize()) for k in KINDS], required=False)
    detail = forms.ChoiceField(
        choices=[("", "detail: default")] + [(d, f"detail: {d}") for d in DETAILS], required=False
    )
    send = forms.ChoiceField(choices=[("inline", "inline base64"), ("url", "by URL")], required=False)
    max_edge = forms.IntegerField(required=False, min_value=16, max_value=16384,
                                  widget=forms.NumberInput(attrs={"placeholder": "full", "step": "1"}))
    image_format = forms.ChoiceField(
        choices=[("", "original format"), ("png", "PNG copy"), ("jpeg", "JPEG copy"), ("webp", "WebP copy")], required=False
    )
    audio_format = forms.ChoiceField(choices=[("", "original file"), ("mp3", "MP3 copy"), ("wav", "WAV copy")], required=False)
    video_mode = forms.ChoiceField(choices=[("file", "the video file"), ("frames", "key frames")], required=False)
    frames = forms.IntegerField(required=False, min_value=1, max_value=64,
                                widget=forms.NumberInput(attrs={"placeholder": "8"}))


PROTOCOL_CHOICES = [
    ("chat", "Chat Completions"),
    ("responses", "Responses"),
    ("messages", "Anthropic Messages"),
    ("gemini", "Gemini"),
    ("gateway", "Chat via gateway"),
]
DEFAULT_COLUMNS = ["chat", "responses", "messages", "gemini"]
# anthropic-version for preset columns; "" is the model's own: its provider's, else the protocol
# default (protocols/anthropic_messages.py DEFAULT_VERSION). A configured model's column always
# uses its provider's, as a run does.
ANTHROPIC_VERSIONS = [("", f"the model's own (default {anthropic_messages.DEFAULT_VERSION})")] + [
    (v, v) for v in anthropic_messages.VERSIONS
]


class PreviewSettingsForm(forms.Form):
    """Which protocols to preview, with which model each (prefix ``pv``).

    ``model_<key>`` holds a prompts.columns.ColumnChoice id ("pm:12": one of the team's models;
    "preset:anthropic:claude-sonnet-4-6": a preset); blank, or an id the team does not have, is the
    column's default (columns.default_choice). The choices depend on the team, so the form keeps
    the id as text and workspace.py draws the select."""

    columns = forms.MultipleChoiceField(
        choices=PROTOCOL_CHOICES, required=False, widget=forms.CheckboxSelectMultiple, label="Protocols"
    )
    model_chat = forms.CharField(max_length=200, required=False)
    model_responses = forms.CharField(max_length=200, required=False)
    model_messages = forms.CharField(max_length=200, required=False)
    model_gemini = forms.CharField(max_length=200, required=False)
    model_gateway = forms.CharField(max_length=200, required=False)
    anthropic_version = forms.ChoiceField(choices=ANTHROPIC_VERSIONS, required=False, label="anthropic-version")
    system_role = forms.ChoiceField(
        choices=[("system", "system"), ("developer", "developer")], required=False, label="Chat system role"
    )
    clamp_temperature = forms.BooleanField(required=False, label="Clamp out-of-range temperature")

    @staticmethod
    def defaults() -> dict:
        return {
            "columns": list(DEFAULT_COLUMNS),
            **{f"model_{k}": "" for k, _ in PROTOCOL_CHOICES},
            "anthropic_version": "",
            "system_role": "system",
            "clamp_temperature": False,
        }

    def settings(self) -> dict:
        """The cleaned settings with defaults for anything left blank (the form is always usable)."""
        out = self.defaults()
        data = self.cleaned_data if self.is_valid() else {}
        if "columns" in data:
            out["columns"] = [c for c, _ in PROTOCOL_CHOICES if c in data["columns"]]
        for key, value in data.items():
            if key != "columns" and value not in (None, ""):
                out[key] = value
        out["clamp_temperature"] = bool(data.get("clamp_temperature"))
        return out


class NewPromptForm(forms.Form):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "Name of the new prompt"}))


class ImportForm(forms.Form):
    file = forms.FileField(label="Prompt export (.zip)")


class DiffForm(forms.Form):
    # Bounded so a huge number is a form error, not a database overflow.
    a = forms.IntegerField(min_value=1, max_value=2**31 - 1, label="From version")
    b = forms.IntegerField(min_value=1, max_value=2**31 - 1, label="To version")
    view = forms.ChoiceField(choices=[("text", "Readable"), ("json", "JSON")], required=False)
