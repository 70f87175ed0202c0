"""Ready-made providers with their models, capabilities and list prices.

Applying a preset (services.apply_preset, or "Add provider" in the UI) creates an ordinary
Provider with ProviderModels: every value is a starting point that an owner can edit.

Capabilities follow docs/protocols.md (§0 and each protocol's media types and limits): which
media kinds a model takes, the image formats, the image count and edge limits, and whether a
media URL may be sent as a URL (otherwise Prism inlines the bytes).

Prices are public list prices in USD per million tokens as of PRICES_AS_OF, collected by hand
from the vendors' pricing pages and third-party copies of them. They change often and some
models have tiers (long context, batch, priority) that are not modelled here: check them
before using a cost for billing. ``None`` means unknown, so Prism shows the cost as unknown
rather than as $0.

Per audio second: Gemini bills audio input tokens above the text rate. Prism counts every
input token at the text rate, so the difference is entered as a price per audio second
(32 tokens per second, docs/protocols.md §6: (audio rate − text rate) × 32 / 1M).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

PRICES_AS_OF = "2026-07"
PRICES_NOTE = (
    f"List prices as of {PRICES_AS_OF}, entered by hand: check the provider's pricing page before billing. "
    "Long-context, batch and priority tiers are not included."
)

# Image formats (MIME types) each protocol documents (docs/protocols.md §8.9).
OPENAI_IMAGES = ("image/png", "image/jpeg", "image/webp", "image/gif")  # GIF: not animated
ANTHROPIC_IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp")  # GIF: first frame only
GEMINI_IMAGES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")
ALL_IMAGE_FORMATS = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/heic", "image/heif")

# Which media kinds a protocol can carry at all (docs/protocols.md §0, §5). "compatible" is the
# Chat Completions shape; video needs a gateway (OpenRouter, vLLM) that takes video_url.
PROTOCOL_KINDS = {
    "chat": {"image", "audio", "pdf"},
    "responses": {"image", "pdf"},
    "messages": {"image", "pdf"},
    "gemini": {"image", "audio", "video", "pdf"},
    "compatible": {"image", "audio", "pdf"},
}
GATEWAY_KINDS = {"image", "audio", "video", "pdf"}
PROTOCOL_IMAGE_FORMATS = {
    "chat": OPENAI_IMAGES,
    "responses": OPENAI_IMAGES,
    "messages": ANTHROPIC_IMAGES,
    "gemini": GEMINI_IMAGES,
    "compatible": ALL_IMAGE_FORMATS,  # whatever the server behind it takes
}


def kinds_for(protocol: str, gateway: bool = False) -> set[str]:
    """The media kinds a provider of this protocol can send."""
    if protocol == "compatible" and gateway:
        return set(GATEWAY_KINDS)
    return set(PROTOCOL_KINDS.get(protocol, ()))


def _usd(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _gemini_audio_per_second(audio_rate: str, text_rate: str) -> str:
    # 32 audio tokens per second; the text rate is already counted by the token price.
    return str((Decimal(audio_rate) - Decimal(text_rate)) * 32 / 1_000_000)


@dataclass(frozen=True)
class ModelPreset:
    name: str
    label: str
    inputs: tuple[str, ...]
    image_formats: tuple[str, ...] = ()
    max_image_edge: int | None = None
    max_images: int | None = None
    accepts_urls: bool = True
    input: str | None = None  # USD per million tokens
    cached_input: str | None = None
    output: str | None = None
    per_image: str | None = None
    per_audio_second: str | None = None
    notes: str = ""

    def fields(self) -> dict:
        """Keyword arguments for ProviderModel."""
        return {
            "name": self.name,
            "label": self.label,
            "inputs": list(self.inputs),
            "image_formats": list(self.image_formats) if "image" in self.inputs else [],
            "max_image_edge": self.max_image_edge,
            "max_images": self.max_images,
            "accepts_urls": self.accepts_urls,
            "price_input_per_mtok": _usd(self.input),
            "price_cached_input_per_mtok": _usd(self.cached_input),
            "price_output_per_mtok": _usd(self.output),
            "price_per_image": _usd(self.per_image),
            "price_per_audio_second": _usd(self.per_audio_second),
            "price_source": f"List prices {PRICES_AS_OF} (preset)" if self.input is not None else "",
            "notes": self.notes,
        }


@dataclass(frozen=True)
class ProviderPreset:
    key: str
    name: str
    protocol: str
    base_url: str
    description: str
    api_version: str = ""
    gateway_extensions: bool = False
    key_source: str = "stored"
    api_key_env: str = ""
    notes: str = ""
    models: tuple[ModelPreset, ...] = field(default_factory=tuple)

    def provider_fields(self) -> dict:
        """Initial values of the provider form."""
        return {
            "name": self.name,
            "protocol": self.protocol,
            "base_url": self.base_url,
            "api_version": self.api_version,
            "gateway_extensions": self.gateway_extensions,
            "key_source": self.key_source,
            "api_key_env": self.api_key_env,
            "notes": self.notes,
        }

    def model(self, name: str) -> ModelPreset | None:
        return next((m for m in self.models if m.name == name), None)


# --- OpenAI ----------------------------------------------------------------------------------------

_OPENAI_LIMITS = {"image_formats": OPENAI_IMAGES, "max_images": 500}  # 500 images, 50 MB per request [2nd]

_GPT_5_5 = ModelPreset("gpt-5.5", "GPT-5.5", ("image", "pdf"), input="5.00", cached_input="0.50", output="30.00",
                       **_OPENAI_LIMITS)
_GPT_5_4 = ModelPreset("gpt-5.4", "GPT-5.4", ("image", "pdf"), input="2.50", cached_input="0.25", output="15.00",
                       **_OPENAI_LIMITS)
_GPT_5_4_MINI = ModelPreset("gpt-5.4-mini", "GPT-5.4 mini", ("image", "pdf"), input="0.75", cached_input="0.075",
                            output="4.50", **_OPENAI_LIMITS)
_GPT_5_4_NANO = ModelPreset("gpt-5.4-nano", "GPT-5.4 nano", ("image", "pdf"), input="0.20", cached_input="0.02",
                            output="1.25", **_OPENAI_LIMITS)
_GPT_4O_AUDIO = ModelPreset(
    "gpt-4o-audio-preview", "GPT-4o audio (preview)", ("audio",), input="2.50", output="10.00",
    notes="Audio input only as wav or mp3, inline (no URLs); no image input. Audio tokens are billed at "
          "$40 per million but counted here at the text rate, so the cost shown for audio is too low.",
    accepts_urls=False,
)

OPENAI = ProviderPreset(
    key="openai",
    name="OpenAI",
    protocol="chat",
    base_url="https://api.openai.com/v1",
    description="OpenAI Chat Completions: images, PDFs, and audio on the audio models.",
    api_key_env="OPENAI_API_KEY",
    notes="Chat Completions takes images (PNG, JPEG, WEBP, non-animated GIF), PDFs as file parts, and wav/mp3 "
          "audio on audio models only. No video.",
    models=(_GPT_5_5, _GPT_5_4, _GPT_5_4_MINI, _GPT_5_4_NANO, _GPT_4O_AUDIO),
)

OPENAI_RESPONSES = ProviderPreset(
    key="openai-responses",
    name="OpenAI (Responses)",
    protocol="responses",
    base_url="https://api.openai.com/v1",
    description="OpenAI Responses API: images and files (PDF by URL too); no audio or video.",
    api_key_env="OPENAI_API_KEY",
    notes="The Responses API has no audio or video input; images take detail up to \"original\".",
    models=(_GPT_5_5, _GPT_5_4, _GPT_5_4_MINI, _GPT_5_4_NANO),
)

# --- Anthropic -------------------------------------------------------------------------------------

_ANTHROPIC_NOTE = (
    "Images up to 8000×8000 px; with more than 20 images in a request each must be 2000×2000 or smaller. "
    "At most 100 images on models with a 200k context, 600 on others."
)

ANTHROPIC = ProviderPreset(
    key="anthropic",
    name="Anthropic",
    protocol="messages",
    base_url="https://api.anthropic.com",
    api_version="2023-06-01",
    description="Anthropic Messages: images and PDFs; no audio or video.",
    api_key_env="ANTHROPIC_API_KEY",
    notes="API version 2023-06-01 keeps temperature for older models. Version 2026-10-21 (the default of the new "
          "SDKs) rejects temperature, top_p and top_k even at their defaults: switch to it when your prompts "
          "no longer set them. Opus 4.7 and later reject temperature under either version.",
    models=(
        ModelPreset("claude-opus-4-7", "Claude Opus 4.7", ("image", "pdf"), ANTHROPIC_IMAGES, 8000, 600,
                    input="5.00", cached_input="0.50", output="25.00",
                    notes="High-resolution image tier (2576 px, 4784 tokens per image); rejects temperature. "
                          + _ANTHROPIC_NOTE),
        ModelPreset("claude-sonnet-4-6", "Claude Sonnet 4.6", ("image", "pdf"), ANTHROPIC_IMAGES, 8000, 600,
                    input="3.00", cached_input="0.30", output="15.00", notes=_ANTHROPIC_NOTE),
        ModelPreset("claude-haiku-4-5", "Claude Haiku 4.5", ("image", "pdf"), ANTHROPIC_IMAGES, 8000, 100,
                    input="1.00", cached_input="0.10", output="5.00", notes=_ANTHROPIC_NOTE),
    ),
)

# --- Google Gemini ---------------------------------------------------------------------------------

_GEMINI_KINDS = ("image", "audio", "video", "pdf")
_GEMINI_LIMITS = {"image_formats": GEMINI_IMAGES, "max_images": 3600}
_GEMINI_INLINE = ("Uploaded media are sent inline (up to 100 MB per request since 2026-01; over 20 MB is warned). "
                  "Public HTTPS links to images (BMP, JPEG, PNG, WEBP), videos and PDFs go as fileUri, which "
                  "Gemini fetches (not on gemini-2.0 models); other links go inline from Prism's stored copy.")

GEMINI = ProviderPreset(
    key="gemini",
    name="Google Gemini",
    protocol="gemini",
    base_url="https://generativelanguage.googleapis.com",
    api_version="v1beta",
    description="Gemini generateContent: images (incl. HEIC), audio, video and PDFs.",
    api_key_env="GEMINI_API_KEY",
    notes="The Gemini Developer API (not Vertex AI). Images: PNG, JPEG, WEBP, HEIC, HEIF — no GIF. "
          + _GEMINI_INLINE,
    models=(
        ModelPreset("gemini-3.1-pro-preview", "Gemini 3.1 Pro (preview)", _GEMINI_KINDS, input="2.00",
                    cached_input="0.20", output="12.00", **_GEMINI_LIMITS,
                    notes="Prices for prompts up to 200k tokens; longer prompts cost more."),
        ModelPreset("gemini-3-flash-preview", "Gemini 3 Flash (preview)", _GEMINI_KINDS, input="0.50",
                    cached_input="0.05", output="3.00", per_audio_second=_gemini_audio_per_second("1.00", "0.50"),
                    **_GEMINI_LIMITS, notes="Audio input tokens cost $1.00 per million (text $0.50): the difference is the price "
                          "per audio second, at 32 tokens a second."),
        ModelPreset("gemini-2.5-flash", "Gemini 2.5 Flash", _GEMINI_KINDS, input="0.30", cached_input="0.03",
                    output="2.50", per_audio_second=_gemini_audio_per_second("1.00", "0.30"), **_GEMINI_LIMITS,
                    notes="Audio input tokens cost $1.00 per million (text $0.30): the difference is the price "
                          "per audio second, at 32 tokens a second."),
        ModelPreset("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", _GEMINI_KINDS, input="0.10",
                    cached_input="0.01", output="0.40", per_audio_second=_gemini_audio_per_second("0.30", "0.10"),
                    **_GEMINI_LIMITS, notes="Audio input tokens cost $0.30 per million (text $0.10): the difference is the price "
                          "per audio second, at 32 tokens a second."),
    ),
)

# --- OpenRouter ------------------------------------------------------------------------------------

OPENROUTER = ProviderPreset(
    key="openrouter",
    name="OpenRouter",
    protocol="compatible",
    base_url="https://openrouter.ai/api/v1",
    gateway_extensions=True,
    description="A gateway to many vendors in the Chat Completions shape, with video and PDF-URL extensions.",
    api_key_env="OPENROUTER_API_KEY",
    notes="OpenRouter passes the upstream vendor's prices through. PDFs work on any model (parsed to text where "
          "the model has no file input); audio is base64 only; video support depends on the upstream provider. "
          "Errors in the middle of a generation arrive as HTTP 200.",
    models=(
        ModelPreset("openai/gpt-5.4-mini", "GPT-5.4 mini via OpenRouter", ("image", "pdf"), OPENAI_IMAGES,
                    max_images=500, input="0.75", cached_input="0.075", output="4.50"),
        ModelPreset("anthropic/claude-sonnet-4.6", "Claude Sonnet 4.6 via OpenRouter", ("image", "pdf"),
                    ANTHROPIC_IMAGES, 8000, 600, input="3.00", cached_input="0.30", output="15.00"),
        ModelPreset("google/gemini-3-flash-preview", "Gemini 3 Flash via OpenRouter", ("image", "audio", "video", "pdf"),
                    GEMINI_IMAGES, max_images=3600, input="0.50", cached_input="0.05", output="3.00",
                    notes="Video URLs: YouTube links only; otherwise send video inline."),
        ModelPreset("qwen/qwen2.5-vl-72b-instruct", "Qwen2.5-VL 72B via OpenRouter", ("image",), OPENAI_IMAGES,
                    notes="Prices vary by upstream host: look them up on openrouter.ai/models and enter them."),
    ),
)

# --- A local OpenAI-compatible server ---------------------------------------------------------------

LOCAL = ProviderPreset(
    key="local",
    name="Local server",
    protocol="compatible",
    base_url="http://localhost:11434/v1",
    key_source="none",
    description="Ollama on :11434 (or vLLM on :8000/v1, LM Studio on :1234/v1), no key needed.",
    notes="Ollama: http://localhost:11434/v1. vLLM: http://localhost:8000/v1 (turn on gateway extensions for its "
          "video_url and audio_url parts). LM Studio: http://localhost:1234/v1. Ollama takes base64 images only, "
          "so media are inlined. Prices are $0: running locally costs no tokens.",
    models=(
        ModelPreset("gemma3:12b", "Gemma 3 12B (Ollama)", ("image",), ("image/png", "image/jpeg"), accepts_urls=False,
                    input="0", cached_input="0", output="0"),
        ModelPreset("qwen2.5vl:7b", "Qwen2.5-VL 7B (Ollama)", ("image",), ("image/png", "image/jpeg"),
                    accepts_urls=False, input="0", cached_input="0", output="0"),
        ModelPreset("llama3.2-vision:11b", "Llama 3.2 Vision 11B (Ollama)", ("image",), ("image/png", "image/jpeg"),
                    max_images=1, accepts_urls=False, input="0", cached_input="0", output="0",
                    notes="Takes one image per request."),
    ),
)

PRESETS: dict[str, ProviderPreset] = {p.key: p for p in (OPENAI, OPENAI_RESPONSES, ANTHROPIC, GEMINI, OPENROUTER, LOCAL)}
