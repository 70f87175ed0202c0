"""Model output as safe HTML: markdown-it-py with raw HTML off, links only to http(s).

    render_markdown("**Hi** <script>x</script> [site](https://example.com)")
    -> '<p><strong>Hi</strong> &lt;script&gt;x&lt;/script&gt; <a href="https://example.com"
        rel="nofollow noopener noreferrer" target="_blank">site</a></p>\n'

Model output is untrusted: a model can be told (by a web page, a document in the prompt) to
answer with markup meant for whoever reads it. So raw HTML is never passed through (markdown-it
escapes it as text), attribute values are escaped by the renderer, a link must be an absolute
http(s) URL (``javascript:``, ``data:``, relative paths to our own pages are shown as text), and
images are not rendered: an ``<img>`` would make the reader's browser fetch a URL the model chose.

CommonMark plus tables and strikethrough. Outputs over MAX_CHARS are shown as plain text instead
(rendering is linear, but a megabyte of markdown in every card is not worth the time).
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

MAX_CHARS = 200_000
LINK_REL = "nofollow noopener noreferrer"


def _http_only(url: str) -> bool:
    return url[:8].lower().startswith(("http://", "https://"))


def _link_open(self, tokens, idx, options, env):
    token = tokens[idx]
    token.attrSet("rel", LINK_REL)
    token.attrSet("target", "_blank")
    return self.renderToken(tokens, idx, options, env)


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    md.validateLink = _http_only
    md.add_render_rule("link_open", _link_open)
    return md


_MD = _build()


def render_markdown(text: str) -> SafeString:
    """Safe HTML for untrusted markdown (see the module docstring)."""
    if not text:
        return mark_safe("")
    if len(text) > MAX_CHARS:
        return mark_safe(f'<pre class="plain-output">{escape(text)}</pre>')
    return mark_safe(_MD.render(text))
