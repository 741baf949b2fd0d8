from storage.safetext import escape, from_html, links, safe_url, to_plain


def test_plain_text_is_escaped() -> None:
    assert from_html("A & B <not a tag") == "A &amp; B &lt;not a tag"


def test_http_and_https_links_survive_as_slack_links() -> None:
    html = 'See <a href="https://dev.azure.com/x/pullrequest/4711">pull request 4711</a> and <a href="http://a.example/">a</a>.'
    assert (
        from_html(html)
        == "See <https://dev.azure.com/x/pullrequest/4711|pull request 4711> and <http://a.example/|a>."
    )


def test_other_schemes_keep_only_their_label() -> None:
    for href in ("javascript:alert(1)", "mailto:a@b.example", "ftp://x.example/f", "/relative", ""):
        assert from_html(f'<a href="{href}">click</a>') == "click"


def test_tags_are_dropped_and_entities_decoded_then_reescaped() -> None:
    assert from_html("The <b>lead destination</b> &lt;script&gt; &amp; more") == (
        "The lead destination &lt;script&gt; &amp; more"
    )


def test_mentions_and_injected_links_are_neutralised() -> None:
    text = from_html("hi <!channel> <@U123> <https://evil.example|bank> &lt;!here&gt;")
    assert "<!channel>" not in text and "<@U123>" not in text and "<https://evil" not in text
    assert links(text) == []


def test_link_label_cannot_break_out() -> None:
    text = from_html('<a href="https://ok.example/a|b>c">x > <!channel></a>')
    assert links(text) == [("https://ok.example/a%7Cb%3Ec", "x >")]
    assert "<!channel>" not in text


def test_scripts_are_dropped_and_blocks_break_lines() -> None:
    assert from_html("<p>one</p><script>alert(1)</script><p>two<br>three</p>") == "one\ntwo\nthree"


def test_to_plain_unescapes_and_spells_out_links() -> None:
    safe = from_html('a &amp; b, <a href="https://x.example/p">the PR</a>')
    assert to_plain(safe) == "a & b, the PR (https://x.example/p)"


def test_safe_url() -> None:
    assert safe_url("https://x.example/a b") is None
    assert safe_url("HTTPS://X.example/") == "HTTPS://X.example/"
    assert safe_url("https:///nohost") is None
    assert escape("<&>") == "&lt;&amp;&gt;"
