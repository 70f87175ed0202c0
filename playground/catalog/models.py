"""Providers (an endpoint with a key) and the models offered there, per team.

A key is write-only: it is stored encrypted (secrets.py) or read from an environment variable
the operator granted to the team for the provider's host (env_keys.py), and no page, log, export
or error message ever shows it. Either kind goes only to the server it is bound to: a stored key
to its base URL's origin, an environment key to the hosts of its grant, checked when it is sent.
"""

from decimal import Decimal
from urllib.parse import urlsplit

from django.db import models

from playground.accounts.models import Team
from playground.catalog import env_keys, secrets


class Provider(models.Model):
    class Protocol(models.TextChoices):
        CHAT = "chat", "OpenAI Chat Completions"
        RESPONSES = "responses", "OpenAI Responses"
        MESSAGES = "messages", "Anthropic Messages"
        GEMINI = "gemini", "Google Gemini generateContent"
        COMPATIBLE = "compatible", "OpenAI-compatible (Ollama, vLLM, OpenRouter, LM Studio)"

    class KeySource(models.TextChoices):
        STORED = "stored", "Stored in Prism (encrypted)"
        ENV = "env", "Read from an environment variable"
        NONE = "none", "No key (local server)"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="providers")
    name = models.CharField(max_length=100)
    protocol = models.CharField(max_length=20, choices=Protocol.choices)
    base_url = models.URLField(max_length=500)
    api_version = models.CharField(max_length=40, blank=True)  # Anthropic: the anthropic-version header
    # OpenAI-compatible gateways accept extensions (video_url, PDF URLs, more audio formats).
    gateway_extensions = models.BooleanField(default=False)
    key_source = models.CharField(max_length=10, choices=KeySource.choices, default=KeySource.STORED)
    api_key_encrypted = models.TextField(blank=True)
    api_key_env = models.CharField(max_length=100, blank=True)
    key_updated_at = models.DateTimeField(null=True, blank=True)
    max_concurrency = models.PositiveIntegerField(default=8)  # requests in flight to this provider
    timeout_s = models.PositiveIntegerField(default=120)
    preset = models.CharField(max_length=40, blank=True)  # the presets.PRESETS key it was made from, if any
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="one_provider_name_per_team")]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the key
        return f"<Provider {self.pk} {self.name!r} {self.protocol}>"

    def set_api_key(self, plaintext: str) -> None:
        from django.utils import timezone

        self.api_key_encrypted = secrets.encrypt(plaintext) if plaintext else ""
        self.key_updated_at = timezone.now()

    def api_key(self, url: str | None = None) -> str:
        """The key to send to ``url`` (default: the base URL), or KeyUnavailable saying why not.
        Only the sender calls this, with the URL it is about to send to (a re-sent request goes
        to the URL it was made for, which may no longer be the provider's)."""
        if self.key_source == self.KeySource.NONE:
            return ""
        url = url or self.base_url
        if self.key_source == self.KeySource.ENV:
            return env_keys.read(self.api_key_env, self.team, urlsplit(url).hostname)
        if not self.api_key_encrypted:
            raise secrets.KeyUnavailable(f"No API key is stored for {self.name}.")
        if _origin(url) != _origin(self.base_url):
            # The stored key was entered for the base URL's server (forms.py), and goes only there.
            raise secrets.KeyUnavailable(
                f"This request was made for {urlsplit(url).netloc}, but {self.name} now points to "
                f"{urlsplit(self.base_url).netloc}: its stored key goes only there. Start a new run instead."
            )
        return secrets.decrypt(self.api_key_encrypted)

    @property
    def has_key(self) -> bool:
        """A key can be sent to the base URL, as far as Prism can tell without decrypting it."""
        if self.key_source == self.KeySource.NONE:
            return True
        if self.key_source == self.KeySource.ENV:
            return env_keys.state(self.api_key_env, self.team, urlsplit(self.base_url).hostname) == env_keys.SET
        return bool(self.api_key_encrypted)

    @property
    def render_protocol(self) -> str:
        """The request format: an OpenAI-compatible server speaks Chat Completions."""
        return "chat" if self.protocol == self.Protocol.COMPATIBLE else self.protocol


def _origin(url: str) -> tuple:
    parts = urlsplit(url or "")
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


class ProviderModel(models.Model):
    """A model offered by a provider: what it takes and what it costs."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=200)  # the API's model id
    label = models.CharField(max_length=200, blank=True)
    # Capabilities: media kinds it takes (image, audio, video, pdf) and limits (null: no limit known).
    inputs = models.JSONField(default=list, blank=True)
    image_formats = models.JSONField(default=list, blank=True)  # mime types; empty: the protocol's own list
    max_image_edge = models.PositiveIntegerField(null=True, blank=True)
    max_images = models.PositiveIntegerField(null=True, blank=True)
    accepts_urls = models.BooleanField(default=True)
    # Prices in USD (null: unknown, so the cost is unknown rather than 0).
    price_input_per_mtok = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_cached_input_per_mtok = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_output_per_mtok = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_per_image = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_per_audio_second = models.DecimalField(max_digits=12, decimal_places=8, null=True, blank=True)
    enabled = models.BooleanField(default=True)
    # Where the prices come from ("List prices 2026-07 (preset)", "Edited 2026-11-22 by maya").
    price_source = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["provider__name", "name"]
        constraints = [models.UniqueConstraint(fields=["provider", "name"], name="one_model_name_per_provider")]

    def __str__(self) -> str:
        return f"{self.provider.name} / {self.label or self.name}"

    def cost(self, *, input_tokens=None, cached_input_tokens=None, output_tokens=None, images=0,
             audio_seconds=0.0) -> Decimal | None:
        """USD for one request from its usage; None when a needed price or count is unknown."""
        return usd_cost(
            input_price=self.price_input_per_mtok, cached_input_price=self.price_cached_input_per_mtok,
            output_price=self.price_output_per_mtok, per_image=self.price_per_image,
            per_audio_second=self.price_per_audio_second, input_tokens=input_tokens,
            cached_input_tokens=cached_input_tokens, output_tokens=output_tokens, images=images,
            audio_seconds=audio_seconds,
        )  # fmt: skip


_MILLION = Decimal(1_000_000)


def usd_cost(*, input_price, cached_input_price, output_price, per_image, per_audio_second, input_tokens,
             cached_input_tokens, output_tokens, images=0, audio_seconds=0.0) -> Decimal | None:
    """USD for one request from per-million token prices, per-item prices and usage; None when a
    needed price or count is unknown. ProviderModel.cost, and a Result's price snapshot
    (runs/prices.py: no model instance per answer), both use it."""
    if input_tokens is None or output_tokens is None:
        return None
    if input_price is None or output_price is None:
        return None
    cached = cached_input_tokens or 0
    if cached_input_price is None:
        cached_input_price = input_price
    total = (Decimal(input_tokens - cached) * input_price + Decimal(cached) * cached_input_price
             + Decimal(output_tokens) * output_price) / _MILLION  # fmt: skip
    if images and per_image is not None:
        total += per_image * images
    if audio_seconds and per_audio_second is not None:
        total += per_audio_second * Decimal(str(audio_seconds))
    return total.quantize(Decimal("0.00000001"))
