"""Slash command text with ``should_escape: true``: the shapes of Slack's *Formatting text* reference
(``<@U…|name>``, ``<#C…|name>``, ``<!subteam^S…|@handle>``, ``<url|label>``, ``<mailto:…|…>``,
``&amp;``/``&lt;``/``&gt;``), written here from those shapes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.escaped import plain
from storage.safetext import escape


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("woodgrove", "woodgrove"),
        ("Woodgrove Insights &amp; Reporting", "Woodgrove Insights & Reporting"),
        ("a &lt;b&gt; c", "a <b> c"),
        ("&amp;lt;", "&lt;"),  # the user typed an entity: it is shown as typed, once unescaped
        ("owners x add <@U0PAT0001|pat>", "owners x add <@U0PAT0001>"),
        ("subscribe all <#C0MARKET1|marketplace>", "subscribe all <#C0MARKET1>"),
        (
            "owners publisher:contoso add <!subteam^S0REL0001|@release-team>",
            "owners publisher:contoso add <!subteam^S0REL0001>",
        ),
        (
            "<http://contoso.analytics|contoso.analytics>",
            "contoso.analytics",
        ),  # Slack took an id for a domain
        ("see <https://partner.microsoft.com/x?a=1&amp;b=2>", "see https://partner.microsoft.com/x?a=1&b=2"),
        ("add <mailto:pat@contoso.example|pat@contoso.example>", "add pat@contoso.example"),
        ("<!here> list", "<!here> list"),
        ("list failed <@U0PAT0001>", "list failed <@U0PAT0001>"),
        ("unclosed <@U0PAT0001", "unclosed <@U0PAT0001"),
    ],
)
def test_escaped_text_reads_as_typed(sent: str, typed: str) -> None:
    assert plain(sent) == typed


@given(st.text(max_size=60))
def test_any_typed_text_reads_back_once_slack_escaped_it(text: str) -> None:
    """What the user typed, with ``&``, ``<`` and ``>`` escaped as Slack does, reads back exactly:
    a typed ``<`` never opens a token."""
    assert plain(escape(text)) == text
