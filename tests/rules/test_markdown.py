"""Chart text escaped for card markdown renders as the same characters under a real GFM renderer (markdown-it with
tables, strikethrough and linkify on, raw HTML off, as an EHR would configure it): no markup comes from a chart."""

from __future__ import annotations

import html

import pytest

from cds_service.rules._markdown import WORD_JOINER, escape

markdown_it = pytest.importorskip("markdown_it", reason="pip install '.[test]' brings markdown-it-py")
pytest.importorskip("linkify_it", reason="pip install '.[test]' brings linkify-it-py")
GFM = markdown_it.MarkdownIt("commonmark", {"html": False, "linkify": True}).enable(
    ["table", "strikethrough", "linkify"]
)


def rendered_text(markdown: str) -> str:
    """The paragraph's text as a reader sees it; fails if the renderer produced anything but one plain paragraph."""
    out = GFM.render(markdown).strip()
    assert out.startswith("<p>") and out.endswith("</p>"), out
    inner = out[3:-4]
    assert "<" not in inner, f"markup rendered: {out}"
    return html.unescape(inner).replace(WORD_JOINER, "")


@pytest.mark.parametrize(
    "chart_text",
    [
        pytest.param("[Open](https://x.example) **URGENT**", id="link-and-bold-from-a-condition-display"),
        pytest.param("![pixel](http://track.example/p.gif)", id="tracking-pixel-image"),
        pytest.param("# URGENT: stop all anticoagulants", id="heading"),
        pytest.param("<img src=x onerror=alert(1)> <b>bold</b>", id="raw-html"),
        pytest.param("*em* _em_ __strong__ ~~struck~~ `code`", id="emphasis-strikethrough-code"),
        pytest.param("https://phish.example/login and www.phish.com", id="bare-url-autolinks"),
        pytest.param("mail x@phish.example now", id="bare-email-autolink"),
        pytest.param("phish.com", id="fuzzy-domain-linkify"),
        pytest.param("&amp; &lt;script&gt;", id="entities-stay-as-typed"),
        pytest.param("- listed", id="list-item-at-line-start"),
        pytest.param("1. ordered", id="ordered-item-at-line-start"),
        pytest.param("---", id="thematic-break"),
        pytest.param("| a | b |", id="table-row"),
        pytest.param("back\\slash \\*", id="backslashes"),
    ],
)
def test_chart_text_renders_as_its_own_characters(chart_text):
    assert rendered_text(escape(chart_text)) == chart_text


@pytest.mark.parametrize(
    ("chart_text", "shown"),
    [
        pytest.param("line one  \nline two", "line one line two", id="hard-line-break-becomes-a-space"),
        pytest.param("a\r\n# heading\u2028b", "a # heading b", id="every-line-break-kind-becomes-a-space"),
        pytest.param("ok\n===", "ok ===", id="setext-underline-cannot-form"),
    ],
)
def test_line_breaks_become_spaces_so_no_block_can_start(chart_text, shown):
    assert rendered_text(escape(chart_text)) == shown


@pytest.mark.parametrize("plain", ["Oxycodone Hydrochloride 5 MG Oral Tablet", "eGFR 1.5 mL/min", "Low back pain"])
def test_ordinary_chart_text_is_left_as_it_is(plain):
    assert escape(plain) == plain
