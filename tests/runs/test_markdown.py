"""Model output rendered as markdown: what a hostile output cannot do (no script, no event
handler, no javascript: or data: link, no image fetch, no link to our own pages) and what an
honest one gets (paragraphs, code, emphasis, lists, tables, http(s) links that open safely)."""

import re
from html.parser import HTMLParser

import pytest

from playground.runs.markdown import LINK_REL, MAX_CHARS, render_markdown


def _tags(html: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


ALLOWED_TAGS = {"p", "pre", "code", "strong", "em", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
                "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "s"}


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
    "text <b onclick=alert(1)>bold</b>",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "`</code><script>alert(1)</script>`",
    "<!-- comment --><form action=/accounts/logout/ method=post><button>x</button></form>",
])
def test_it_escapes_raw_html(hostile):
    html = render_markdown(hostile)
    assert _tags(html) <= ALLOWED_TAGS, html
    assert "<script" not in html and "<img" not in html and "<iframe" not in html and "<form" not in html
    assert "&lt;" in html  # shown as text, not dropped: the reader sees what the model said


@pytest.mark.parametrize("link", [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](/accounts/logout/)",
    "[x](//evil.example/)",
    "<javascript:alert(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)",
])
def test_it_refuses_links_that_are_not_http(link):
    html = render_markdown(link)
    assert "<a" not in html, html
    assert "href" not in html


def test_it_renders_http_links_that_open_without_opener_and_referrer():
    html = render_markdown("See [the docs](https://example.com/a?b=1&c=2) or <http://example.org>.")
    assert f'<a href="https://example.com/a?b=1&amp;c=2" rel="{LINK_REL}" target="_blank">the docs</a>' in html
    assert f'<a href="http://example.org" rel="{LINK_REL}" target="_blank">http://example.org</a>' in html


@pytest.mark.parametrize("attack", [
    '[x](https://example.com "a\\" onmouseover=\\"alert(1)")',
    '[x](https://example.com/"onmouseover="alert(1))',
    "[x](<https://example.com/ onmouseover=alert(1)>)",
])
def test_attributes_cannot_be_injected(attack):
    html = render_markdown(attack)
    # Parsed as a browser would: every attribute is one the renderer wrote (the injected text,
    # if any, sits inside a quoted, escaped value).
    seen = []

    class Attrs(HTMLParser):
        def handle_starttag(self, tag, attrs):
            seen.extend(name for name, _ in attrs)

    Attrs().feed(html)
    assert set(seen) <= {"href", "rel", "target", "title"}, html


def test_images_are_not_fetched():
    html = render_markdown("![a tracking pixel](https://evil.example/pixel.png?u=1)")
    assert "<img" not in html
    assert "a tracking pixel" in html


def test_it_renders_the_usual_constructs():
    html = render_markdown(
        "# Title\n\nSome **bold**, *italic*, ~~gone~~ and `code <b>`.\n\n"
        "- one\n- two\n\n1. first\n2. second\n\n```python\nprint('<hi>')\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html and "<em>italic</em>" in html and "<s>gone</s>" in html
    assert "<code>code &lt;b&gt;</code>" in html
    assert "<ul>\n<li>one</li>" in html and "<ol>\n<li>first</li>" in html
    assert '<pre><code class="language-python">print(\'&lt;hi&gt;\')\n</code></pre>' in html
    assert "<table>" in html and "<td>1</td>" in html


def test_a_code_fence_info_string_cannot_add_attributes():
    html = render_markdown('```x" onclick="alert(1)\ncode\n```')
    assert "onclick=\"" not in html.replace("&quot;", "")
    assert _tags(html) <= ALLOWED_TAGS


def test_very_long_output_is_plain_escaped_text():
    html = render_markdown("<b>" + "a" * MAX_CHARS)
    assert html.startswith('<pre class="plain-output">&lt;b&gt;aaa')


def test_empty_output_is_empty():
    assert render_markdown("") == ""
