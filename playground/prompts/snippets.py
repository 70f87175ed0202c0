"""Code that sends a preview column's request as it is: curl, Python (httpx, and each protocol's
official SDK: openai for Chat Completions and Responses, anthropic for Messages, google-genai for
generateContent) and JavaScript (fetch, Node 18+).

    for s in snippets(rendered, "caption-chat.json"):   # Snippet: key, label, language, text, note
        ...

Every snippet is self-contained: the body is in it (a heredoc for curl, a JSON literal for Python
and JavaScript) and the key is read from the environment variable the provider names (never the
key itself, which the page does not know). The body is the preview's exact JSON, pretty-printed:
the same object, key for key (tests/prompts/test_snippets.py sends each snippet to the fake
provider and compares what arrived with the preview's body).

A body with media (base64: a photo is megabytes) or bigger than INLINE_MAX is not pasted: the
page draws every snippet of every column on each preview, and a shell or an editor chokes on a
20 MB line. Those snippets read the file that "Download body" saves, and say so on their first
lines.

An SDK snippet is offered when the URL is the one that SDK builds from a base URL (the provider's
own, or a gateway that keeps the paths); otherwise the curl, httpx and fetch ones still work.
No Django here: it works on a protocols.RenderedRequest.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from playground.protocols import RenderedRequest
from playground.protocols.serialize import Base64Slot

__all__ = ["INLINE_MAX", "Snippet", "snippets"]

INLINE_MAX = 16 * 1024  # bytes of body pasted into a snippet; bigger bodies are read from the downloaded file

# Headers an SDK sets itself (the key goes through its api_key argument).
_SDK_SET = {"content-type", "anthropic-version", "user-agent", "accept"}


@dataclass(frozen=True)
class Snippet:
    key: str  # "curl", "httpx", "openai", "anthropic", "genai", "fetch"
    label: str  # the button: "curl", "Python · openai"
    language: str  # "shell", "python", "javascript"
    text: str
    note: str  # one line under it: what it needs


@dataclass(frozen=True)
class _Body:
    """The body as a snippet carries it: ``json_text`` pasted in, or None to read ``filename``."""

    json_text: str | None
    filename: str
    size: int
    media: bool = False


def snippets(rendered: RenderedRequest, filename: str) -> list[Snippet]:
    """The snippets for one sendable column, curl first; [] when the request cannot be sent."""
    if not rendered.ok:
        return []
    body = _body(rendered, filename)
    out = [_curl(rendered, body), _httpx(rendered, body)]
    sdk = {"chat": _openai_chat, "responses": _openai_responses, "messages": _anthropic, "gemini": _genai}.get(
        str(rendered.protocol)
    )
    if sdk is not None and (s := sdk(rendered, body)) is not None:
        out.append(s)
    out.append(_fetch(rendered, body))
    return out


def _body(rendered: RenderedRequest, filename: str) -> _Body:
    size = rendered.body_size() or 0
    media = _has_media(rendered.body)
    if media or size > INLINE_MAX:
        return _Body(None, filename, size, media)
    data = json.loads(rendered.body_bytes())
    return _Body(json.dumps(data, indent=2, ensure_ascii=False), filename, size)


def _has_media(node) -> bool:
    """Whether the body carries a stored file as base64 (the bytes that make bodies big)."""
    if isinstance(node, Base64Slot):
        return True
    if isinstance(node, dict):
        return any(_has_media(v) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_has_media(v) for v in node)
    return False


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(n / 1e3, 1):.0f} kB"


def _too_big(body: _Body, comment: str) -> list[str]:
    if body.json_text is not None:
        return []
    why = "carries media as base64" if body.media else "is too big to paste here"
    return [f"{comment} The body ({_size(body.size)}) {why}: this reads {body.filename},",
            f"{comment} saved by Download body, from the current folder."]  # fmt: skip


def _key_expr(rendered: RenderedRequest) -> str:
    """Python: the auth header's value, the key read from its environment variable."""
    auth = rendered.auth
    if auth.template == "{key}":
        return f"os.environ[{auth.env!r}]"
    return f"{auth.template!r}.format(key=os.environ[{auth.env!r}])"


# --- curl ------------------------------------------------------------------------------------------


def _curl_header(name: str, value: str) -> str:
    # Double quotes so the shell expands $OPENAI_API_KEY; nothing else in our headers needs quoting.
    return '"' + f"{name}: {value}".replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`") + '"'


def _curl(rendered: RenderedRequest, body: _Body) -> Snippet:
    lines = [f"curl {shlex.quote(rendered.url)}"]
    lines += [f"  -H {_curl_header(k, v)}" for k, v in rendered.headers.items()]
    if body.json_text is None:
        text = "\n".join([*_too_big(body, "#"), " \\\n".join([*lines, f"  --data-binary @{shlex.quote(body.filename)}"])])
    else:
        # A quoted heredoc: the shell expands nothing in the body (a "$" in the prompt stays a "$").
        # Pretty JSON never has a line that is only PRISM_BODY.
        text = " \\\n".join([*lines, "  --data-binary @- <<'PRISM_BODY'"]) + "\n" + body.json_text + "\nPRISM_BODY"
    return Snippet("curl", "curl", "shell", text, f"The key from ${rendered.auth.env}.")


# --- Python ----------------------------------------------------------------------------------------


def _py_body(body: _Body) -> list[str]:
    """Lines setting ``body`` (a dict) in Python."""
    if body.json_text is None:
        return [*_too_big(body, "#"), f"with open({body.filename!r}, encoding=\"utf-8\") as f:", "    body = json.load(f)"]
    text = body.json_text
    if "'''" in text:  # a ' only occurs inside JSON strings, where \u0027 means the same
        text = text.replace("'", "\\u0027")
    return [f"body = json.loads(r'''{text}''')"]


def _httpx(rendered: RenderedRequest, body: _Body) -> Snippet:
    headers = []
    for name, value in rendered.headers.items():
        if name == rendered.auth.header:
            headers.append(f"        {name!r}: {_key_expr(rendered)},")
        else:
            headers.append(f"        {name!r}: {value!r},")
    text = "\n".join([
        "import json",
        "import os",
        "",
        "import httpx",
        "",
        *_py_body(body),
        "response = httpx.post(",
        f"    {rendered.url!r},",
        "    headers={",
        *headers,
        "    },",
        "    json=body,",
        "    timeout=120,",
        ")",
        "print(response.status_code)",
        "print(json.dumps(response.json(), indent=2))",
    ])  # fmt: skip
    return Snippet("httpx", "Python · httpx", "python", text, f"pip install httpx; the key from {rendered.auth.env}.")


def _extra_headers(rendered: RenderedRequest) -> dict:
    return {k: v for k, v in rendered.headers.items() if k != rendered.auth.header and k.lower() not in _SDK_SET}


def _client_args(rendered: RenderedRequest, base_url: str, *, native: tuple[str, str], pin: tuple[str, ...] = ()) -> list[str]:
    """The SDK client's arguments: its base URL and api_key (when the provider takes the key as
    the SDK sends it, ``native``: header and template), plus ``default_headers``: the preview's
    other headers, those in ``pin`` even where the SDK sets its own (so the request is the one
    the preview shows), and the key's own header when the SDK might send it another way."""
    auth = rendered.auth
    args = [f"base_url={base_url!r}", f"api_key=os.environ[{auth.env!r}]"]
    extra = {k: repr(v) for k, v in rendered.headers.items()
             if k != auth.header and (k.lower() not in _SDK_SET or k.lower() in pin)}  # fmt: skip
    if (auth.header.lower(), auth.template) != native:
        extra[auth.header] = _key_expr(rendered)
    if extra:
        args.append("default_headers={" + ", ".join(f"{k!r}: {v}" for k, v in extra.items()) + "}")
    return args


_OPENAI_KEY = ("authorization", "Bearer {key}")

# The body fields each SDK method takes as arguments (in every recent version: anthropic 2.x
# dropped ``temperature``); any other field goes in ``extra_body``, which the SDK sends as it is.
_ARGS = {
    "chat": ("model", "messages", "max_completion_tokens", "temperature", "response_format"),
    "responses": ("model", "instructions", "input", "max_output_tokens", "temperature", "text"),
    "messages": ("model", "max_tokens", "system", "messages", "output_config", "stop_sequences", "thinking"),
}


def _call(target: str, rendered: RenderedRequest) -> list[str]:
    """``target(model=body["model"], ...)`` with each body field, in the body's order."""
    known = _ARGS[str(rendered.protocol)]
    fields = list(rendered.body)
    lines = [f"{target}("] + [f"    {k}=body[{k!r}]," for k in fields if k in known]
    rest = [k for k in fields if k not in known]
    if rest:
        lines.append("    # Not an argument of every SDK version, so sent as the preview has it:")
        lines.append("    extra_body={" + ", ".join(f"{k!r}: body[{k!r}]" for k in rest) + "},")
    return [*lines, ")"]


def _sdk_text(imports: list[str], client: str, args: list[str], body: _Body, call: list[str]) -> str:
    return "\n".join([
        "import json",
        "import os",
        "",
        *imports,
        "",
        f"client = {client}(",
        *[f"    {a}," for a in args],
        ")",
        *_py_body(body),
        *call,
    ])  # fmt: skip


def _strip(url: str, suffix: str) -> str | None:
    return url[: -len(suffix)] if url.endswith(suffix) and "?" not in url else None


def _openai_chat(rendered: RenderedRequest, body: _Body) -> Snippet | None:
    base = _strip(rendered.url, "/chat/completions")
    if base is None:
        return None
    args = _client_args(rendered, base, native=_OPENAI_KEY)
    text = _sdk_text(["from openai import OpenAI"], "OpenAI", args, body,
                     [*_call("completion = client.chat.completions.create", rendered), "print(completion.choices[0].message.content)"])  # fmt: skip
    return Snippet("openai", "Python · openai", "python", text,
                   f"pip install openai (Chat Completions); the key from {rendered.auth.env}.")  # fmt: skip


def _openai_responses(rendered: RenderedRequest, body: _Body) -> Snippet | None:
    base = _strip(rendered.url, "/responses")
    if base is None:
        return None
    args = _client_args(rendered, base, native=_OPENAI_KEY)
    text = _sdk_text(["from openai import OpenAI"], "OpenAI", args, body,
                     [*_call("response = client.responses.create", rendered), "print(response.output_text)"])  # fmt: skip
    return Snippet("openai", "Python · openai", "python", text,
                   f"pip install openai (Responses); the key from {rendered.auth.env}.")  # fmt: skip


def _anthropic(rendered: RenderedRequest, body: _Body) -> Snippet | None:
    base = _strip(rendered.url, "/v1/messages")
    if base is None:
        return None
    # Newer SDKs send the key as a Bearer token and their own API version: the preview's
    # x-api-key and anthropic-version headers are sent too, so the provider gets what it showed.
    args = _client_args(rendered, base, native=("", ""), pin=("anthropic-version",))
    text = _sdk_text(["import anthropic"], "anthropic.Anthropic", args, body,
                     [*_call("message = client.messages.create", rendered),
                      'print("".join(block.text for block in message.content if block.type == "text"))'])  # fmt: skip
    return Snippet("anthropic", "Python · anthropic", "python", text,
                   f"pip install anthropic (Messages); the key from {rendered.auth.env}.")  # fmt: skip


_GEMINI_URL = re.compile(r"^(?P<base>https?://[^?#]+?)/(?P<version>v[^/]+)/models/(?P<model>[^/:?]+):generateContent$")


def _genai(rendered: RenderedRequest, body: _Body) -> Snippet | None:
    """google-genai's Client takes the REST body's fields (camelCase is accepted): contents as
    they are, generationConfig's fields and systemInstruction in one config."""
    m = _GEMINI_URL.match(rendered.url)
    auth = rendered.auth
    if m is None or auth.header.lower() != "x-goog-api-key" or auth.template != "{key}":
        return None
    from urllib.parse import unquote

    options = [f"base_url={m['base']!r}", f"api_version={m['version']!r}"]
    extra = _extra_headers(rendered)
    if extra:
        options.append(f"headers={extra!r}")
    text = "\n".join([
        "import json",
        "import os",
        "",
        "from google import genai",
        "from google.genai import types",
        "",
        "client = genai.Client(",
        f"    api_key=os.environ[{auth.env!r}],",
        f"    http_options=types.HttpOptions({', '.join(options)}),",
        ")",
        *_py_body(body),
        "config = dict(body.get(\"generationConfig\", {}))",
        "for field in (\"systemInstruction\", \"safetySettings\", \"tools\", \"toolConfig\", \"cachedContent\"):",
        "    if field in body:",
        "        config[field] = body[field]",
        *([
            "# The SDK would send media base64 in its URL-safe alphabet: send the preview's contents as they are.",
            "config[\"http_options\"] = types.HttpOptions(extra_body={\"contents\": body[\"contents\"]})",
        ] if body.json_text is None or '"inlineData"' in body.json_text else []),
        "response = client.models.generate_content(",
        f"    model={unquote(m['model'])!r},",
        "    contents=body[\"contents\"],",
        "    config=types.GenerateContentConfig.model_validate(config),",
        ")",
        "print(response.text)",
    ])  # fmt: skip
    return Snippet("genai", "Python · google-genai", "python", text,
                   f"pip install google-genai (generateContent); the key from {auth.env}.")  # fmt: skip


# --- JavaScript -------------------------------------------------------------------------------------


def _fetch(rendered: RenderedRequest, body: _Body) -> Snippet:
    auth = rendered.auth
    env = f"process.env.{auth.env}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", auth.env) else f"process.env[{json.dumps(auth.env)}]"
    headers = []
    for name, value in rendered.headers.items():
        if name == auth.header:
            before, _, after = auth.template.partition("{key}")
            value_js = " + ".join(p for p in (json.dumps(before) if before else "", env, json.dumps(after) if after else "") if p)
            headers.append(f"    {json.dumps(name)}: {value_js},")
        else:
            headers.append(f"    {json.dumps(name)}: {json.dumps(value)},")
    if body.json_text is None:
        body_lines = [*_too_big(body, "//"), f"const body = JSON.parse(require(\"node:fs\").readFileSync({json.dumps(body.filename)}, \"utf8\"));"]
    else:
        body_lines = [f"const body = {body.json_text};"]
    text = "\n".join([
        "// Node 18 or later (fetch is built in): node request.js",
        *body_lines,
        "",
        "(async () => {",
        f"  const response = await fetch({json.dumps(rendered.url)}, {{",
        "    method: \"POST\",",
        "    headers: {",
        *["  " + h for h in headers],
        "    },",
        "    body: JSON.stringify(body),",
        "  });",
        "  console.log(response.status);",
        "  console.log(JSON.stringify(await response.json(), null, 2));",
        "})();",
    ])  # fmt: skip
    return Snippet("fetch", "JavaScript", "javascript", text, f"Node 18+, or a browser's console for a provider that allows it; the key from {auth.env}.")
