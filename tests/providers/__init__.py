"""Shared pieces for the provider tests: a small prompt with an image, rendered for the fake
provider (tests/provider_server.py), and a fast retry policy so retry tests take milliseconds."""

import asyncio

from playground.protocols import MediaPart, Message, Options, Payload, Prompt, TextPart, render
from playground.providers import RetryPolicy, make_client, send
from tests.media_samples import png_bytes
from tests.provider_server import DEFAULT_KEY

PROTOCOLS = ("chat", "responses", "messages", "gemini")
MODELS = {"chat": "gpt-4o", "responses": "gpt-4.1", "messages": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}
KEY = DEFAULT_KEY
FAST = RetryPolicy(max_retries=3, base_delay_s=0.005, max_delay_s=0.02)


def cat_image() -> MediaPart:
    return MediaPart("image", name="cat.png", width=64, height=48, payload=Payload.from_bytes(png_bytes(64, 48), "image/png"))


def cat_prompt(**options) -> Prompt:
    options.setdefault("max_tokens", 64)
    return Prompt(
        system="Be terse.",
        messages=(Message("user", (TextPart("Describe the cat."), cat_image())),),
        options=Options(**options),
    )


def rendered_for(server, protocol: str, model: str | None = None, prompt: Prompt | None = None, **target):
    r = render(prompt or cat_prompt(), {}, server.target(protocol, model or MODELS[protocol], **target))
    assert r.ok, (r.refusals, r.problems)
    return r


def send_one(rendered, *, api_key=KEY, **kw):
    """``send`` with a fresh client, run to completion (the tests are synchronous)."""
    max_connections = kw.pop("max_connections", 10)

    async def main():
        async with make_client(max_connections=max_connections) as client:
            return await send(rendered, api_key=api_key, client=client, **kw)

    return asyncio.run(main())
