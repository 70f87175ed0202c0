"""Forms for providers and their models.

The key field is write-only: a password input that is always rendered empty, whose value is
never put into an error message, and which is left out of every re-rendered page. Leaving it
empty on edit keeps the stored key.
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

from django import forms
from django.core.validators import MinValueValidator, URLValidator
from django.utils import timezone

from playground.catalog import env_keys, presets
from playground.catalog.models import Provider, ProviderModel

ANTHROPIC_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
GEMINI_VERSION = re.compile(r"^v\d+(?:alpha|beta)?\d*$")
KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: what HTTP headers can carry

KIND_CHOICES = [("image", "Image"), ("audio", "Audio"), ("video", "Video"), ("pdf", "PDF")]
IMAGE_FORMAT_CHOICES = [(mime, mime.split("/")[1].upper()) for mime in presets.ALL_IMAGE_FORMATS]
API_VERSION_SUGGESTIONS = {"messages": ["2023-06-01", "2026-10-21"], "gemini": ["v1beta", "v1", "v1alpha"]}


def _set_min(field: forms.Field, minimum) -> None:
    field.min_value = minimum
    field.validators.append(MinValueValidator(minimum))
    field.widget.attrs["min"] = str(minimum)


class ProviderForm(forms.ModelForm):
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the stored key.",
    )
    remove_key = forms.BooleanField(label="Remove the stored key", required=False)

    class Meta:
        model = Provider
        fields = ["name", "protocol", "base_url", "api_version", "gateway_extensions", "key_source", "api_key_env",
                  "max_concurrency", "timeout_s", "notes"]
        labels = {
            "base_url": "Base URL",
            "api_version": "API version",
            "gateway_extensions": "Gateway extensions",
            "key_source": "Key",
            "api_key_env": "Environment variable",
            "max_concurrency": "Requests in flight",
            "timeout_s": "Timeout (seconds)",
        }
        help_texts = {
            "base_url": "Prism sends the API key to this address with every request: use only an endpoint you trust. "
                        "Local and private addresses (http://localhost:11434/v1) are allowed for local servers, "
                        "which is one reason only team owners can set them.",
            "api_version": "Anthropic: the anthropic-version header (2023-06-01, or 2026-10-21 which rejects "
                           "temperature). Gemini: v1beta. Other protocols have none.",
            "gateway_extensions": "The server takes OpenAI-compatible extensions: video_url parts, PDF URLs and more "
                                  "audio formats (OpenRouter, vLLM). OpenAI itself rejects them.",
            "max_concurrency": "At most this many requests to this provider at once.",
        }
        widgets = {
            "key_source": forms.RadioSelect,
            "notes": forms.Textarea(attrs={"rows": 3}),
            "api_version": forms.TextInput(attrs={"list": "api-versions"}),
            "base_url": forms.URLInput(attrs={"placeholder": "https://api.openai.com/v1"}),
        }

    def __init__(self, *args, team, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["base_url"].validators = [URLValidator(schemes=["http", "https"])]
        self.fields["base_url"].error_messages["invalid"] = "Enter an http:// or https:// address."
        for name in ("max_concurrency", "timeout_s"):
            _set_min(self.fields[name], 1)
        if not (self.instance.pk and self.instance.api_key_encrypted):
            del self.fields["remove_key"]
        # Only what the operator granted this team: a team cannot name any other variable.
        granted = env_keys.choices(team)
        if self.is_bound and self.data.get("key_source") != Provider.KeySource.ENV and self.data.get("api_key_env"):
            # A name matters only with that source (presets suggest one); one not granted is not an error then.
            self.data = self.data.copy()
            self.data["api_key_env"] = ""
        self.fields["api_key_env"] = forms.ChoiceField(
            label="Environment variable", required=False, choices=[("", "—"), *granted],
            error_messages={"invalid_choice": "Choose one of the variables the operator granted to this team."},
            help_text=("Granted to this team by the operator (PRISM_ENV_KEYS), with the hosts each may be sent to; "
                       "read when a request is sent." if granted else
                       "The operator has granted no environment variable to this team (PRISM_ENV_KEYS): "
                       "store the key in Prism instead."),
        )

    @property
    def has_stored_key(self) -> bool:
        return bool(self.instance.pk and self.instance.api_key_encrypted)

    def full_clean(self):
        super().full_clean()
        if self.is_bound and "api_key_env" in self._errors:
            # Never echo an invalid variable name: it may well be a key pasted into the wrong box.
            data = self.data.copy()
            data["api_key_env"] = ""
            self.data = data

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = Provider.objects.filter(team=self.team, name__iexact=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("This team already has a provider with that name.")
        return name

    def clean_base_url(self):
        url = self.cleaned_data["base_url"].strip()
        parts = urlsplit(url)
        if parts.username or parts.password:
            raise forms.ValidationError("Put the key in the key field, not in the address.")
        if parts.query or parts.fragment:
            raise forms.ValidationError("The base URL takes no query string or fragment (keys go in the key field).")
        return url.rstrip("/")

    def clean_api_key(self):
        key = self.cleaned_data["api_key"]
        if key and not KEY_CHARS.match(key):
            # Say what is wrong without repeating any of it.
            raise forms.ValidationError("The key can hold only printable characters without spaces.")
        return key

    def clean(self):
        data = super().clean()
        protocol = data.get("protocol")
        version = (data.get("api_version") or "").strip()
        if protocol == Provider.Protocol.MESSAGES and version and not ANTHROPIC_VERSION.match(version):
            self.add_error("api_version", "Anthropic versions are dates, e.g. 2023-06-01.")
        elif protocol == Provider.Protocol.GEMINI and version and not GEMINI_VERSION.match(version):
            self.add_error("api_version", "Gemini versions look like v1beta or v1.")
        elif protocol and version and protocol not in (Provider.Protocol.MESSAGES, Provider.Protocol.GEMINI):
            self.add_error("api_version", "Only Anthropic Messages and Gemini have an API version.")
        data["api_version"] = version
        if data.get("gateway_extensions") and protocol not in (Provider.Protocol.COMPATIBLE, Provider.Protocol.CHAT):
            self.add_error("gateway_extensions", "Gateway extensions exist only in the Chat Completions shape.")

        source = data.get("key_source")
        key = data.get("api_key")
        if source == Provider.KeySource.STORED:
            if key and data.get("remove_key"):
                self.add_error("remove_key", "Either type a new key or remove the stored one, not both.")
            elif self.has_stored_key and not key and not data.get("remove_key") and self._moves_to_another_origin(data):
                # A stored key goes only where it was entered for: a new address needs it typed again.
                self.add_error("api_key", "The base URL now points to another server: type the key again for it, "
                                          "or remove the stored key.")
        elif source == Provider.KeySource.ENV and "api_key_env" not in self.errors:
            name = data.get("api_key_env")
            if not name:
                self.add_error("api_key_env", "Choose the environment variable that holds the key."
                               if env_keys.choices(self.team) else self.fields["api_key_env"].help_text)
            elif data.get("base_url"):
                # Bound like a stored key: the grant names the hosts this variable may be sent to.
                host = urlsplit(data["base_url"]).hostname
                if env_keys.state(name, self.team, host) in (env_keys.NOT_GRANTED, env_keys.WRONG_HOST):
                    self.add_error("api_key_env", env_keys.problem(name, self.team, host))
        if key and source in (Provider.KeySource.ENV, Provider.KeySource.NONE):
            self.add_error("api_key", "A key is typed here only with “Stored in Prism”: leave it empty or switch.")
        return data

    def _moves_to_another_origin(self, data) -> bool:
        if not data.get("base_url"):
            return False
        before, after = urlsplit(self.initial.get("base_url") or ""), urlsplit(data["base_url"])
        return (before.scheme, before.hostname, before.port) != (after.scheme, after.hostname, after.port)

    def save(self, commit=True):
        provider = super().save(commit=False)
        provider.team = self.team
        source = self.cleaned_data["key_source"]
        if source == Provider.KeySource.STORED:
            if self.cleaned_data["api_key"]:
                provider.set_api_key(self.cleaned_data["api_key"])
            elif self.cleaned_data.get("remove_key"):
                provider.api_key_encrypted, provider.key_updated_at = "", None
        elif provider.api_key_encrypted:
            # A key that is no longer used is not kept.
            provider.api_key_encrypted, provider.key_updated_at = "", None
        if commit:
            provider.save()
        return provider


class PresetModelsForm(forms.Form):
    """Which of a preset's models to add along with the provider."""

    models = forms.MultipleChoiceField(label="Models", required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, preset: presets.ProviderPreset, **kwargs):
        super().__init__(*args, **kwargs)
        self.preset = preset
        self.fields["models"].choices = [(m.name, m.label) for m in preset.models]
        self.fields["models"].initial = [m.name for m in preset.models]

    @property
    def checked(self) -> list[str]:
        return self.data.getlist("models") if self.is_bound else self.fields["models"].initial


PRICE_FIELDS = ["price_input_per_mtok", "price_cached_input_per_mtok", "price_output_per_mtok", "price_per_image",
                "price_per_audio_second"]


def plain_decimal(value: Decimal) -> Decimal:
    """2.500000 -> 2.5 and 10.000000 -> 10 (shown as "10", not "1E+1"), for reading and editing prices."""
    return Decimal(format(value.normalize(), "f"))


class ProviderModelForm(forms.ModelForm):
    inputs = forms.MultipleChoiceField(label="Takes", choices=KIND_CHOICES, required=False,
                                       widget=forms.CheckboxSelectMultiple)
    image_formats = forms.MultipleChoiceField(
        label="Image formats", choices=IMAGE_FORMAT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: whatever the protocol takes.",
    )

    class Meta:
        model = ProviderModel
        fields = ["name", "label", "inputs", "image_formats", "max_image_edge", "max_images", "accepts_urls",
                  *PRICE_FIELDS, "enabled", "notes"]
        labels = {
            "name": "Model id",
            "max_image_edge": "Max image edge (px)",
            "max_images": "Max images per request",
            "accepts_urls": "Accepts media URLs",
            "price_input_per_mtok": "Input $/1M",
            "price_cached_input_per_mtok": "Cached input $/1M",
            "price_output_per_mtok": "Output $/1M",
            "price_per_image": "$ per image",
            "price_per_audio_second": "$ per audio second",
        }
        help_texts = {
            "name": "Exactly as the API expects it, e.g. gpt-5.4-mini.",
            "accepts_urls": "Off: media added by URL are sent inline, from the copy Prism stored when they were "
                            "added (“Fetch and store a copy”); a URL without a stored copy cannot be sent.",
            "price_per_audio_second": "Added on top of the token prices.",
        }
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 2}),
            "name": forms.TextInput(attrs={"spellcheck": "false", "placeholder": "gpt-5.4-mini"}),
        }

    def __init__(self, *args, provider: Provider, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.user = user
        for name in PRICE_FIELDS:
            _set_min(self.fields[name], 0)
            self.fields[name].widget.attrs.update({"step": "any", "inputmode": "decimal"})
        for name in ("max_image_edge", "max_images"):
            _set_min(self.fields[name], 1)
        if not self.is_bound:
            for name in PRICE_FIELDS:  # 2.5, not 2.500000
                if (value := self.initial.get(name)) is not None:
                    self.initial[name] = plain_decimal(value)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name or any(c.isspace() for c in name):
            raise forms.ValidationError("A model id has no spaces.")
        taken = ProviderModel.objects.filter(provider=self.provider, name=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("This provider already has a model with that id.")
        return name

    def clean(self):
        data = super().clean()
        provider = self.provider
        kinds = data.get("inputs") or []
        can_carry = presets.kinds_for(provider.protocol, provider.gateway_extensions)
        if refused := [k for k in kinds if k not in can_carry]:
            protocol = provider.get_protocol_display()
            hint = " (video needs gateway extensions)" if "video" in refused and provider.protocol == "compatible" else ""
            self.add_error("inputs", f"{protocol} cannot carry {', '.join(refused)}{hint}.")
        formats = data.get("image_formats") or []
        if "image" not in kinds:
            data["image_formats"] = []
        elif odd := [f for f in formats if f not in presets.PROTOCOL_IMAGE_FORMATS[provider.protocol]]:
            names = ", ".join(f.split("/")[1].upper() for f in odd)
            self.add_error("image_formats", f"{provider.get_protocol_display()} does not take {names}.")
        return data

    def save(self, commit=True):
        model = super().save(commit=False)
        model.provider = self.provider
        if any(name in self.changed_data for name in PRICE_FIELDS):
            who = f" by {self.user.get_username()}" if self.user else ""
            model.price_source = f"Edited {timezone.localdate():%Y-%m-%d}{who}"
        if commit:
            model.save()
        return model
