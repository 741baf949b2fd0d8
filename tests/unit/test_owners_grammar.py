"""``owners``' grammar: the target is everything before ``add`` or ``remove``, owners are Slack's
escaped mentions (as :func:`bot.slack.escaped.plain` leaves them) or addresses; nothing else passes."""

from __future__ import annotations

import pytest

from bot.slack.escaped import plain
from bot.slack.grammar import owner_ref, owners_args, parse, writes
from storage.errors import UsageError
from storage.owners import OwnerRef
from storage.statuses import OwnerKind


def args(text: str) -> list[str]:
    command = parse(plain(text))
    assert command.verb == "owners"
    return list(command.args)


@pytest.mark.parametrize(
    ("typed", "query", "change", "owners"),
    [
        ("owners woodgrove", "woodgrove", None, ()),
        ('owners "Tailspin Flight"', "Tailspin Flight", None, ()),
        (
            "owners Tailspin Flight add <@U0PAT0001|pat>",
            "Tailspin Flight",
            "add",
            (OwnerRef(OwnerKind.USER, "U0PAT0001"),),
        ),
        (
            "owners woodgrove ADD <@W0ENT0001> <!subteam^S0TEAM01|@release-team> <mailto:Lee@X.example|Lee@X.example>",
            "woodgrove",
            "add",
            (
                OwnerRef(OwnerKind.USER, "W0ENT0001"),
                OwnerRef(OwnerKind.USERGROUP, "S0TEAM01"),
                OwnerRef(OwnerKind.EMAIL, "lee@x.example"),
            ),
        ),
        (
            "owners woodgrove remove <@U0PAT0001> <@U0PAT0001>",
            "woodgrove",
            "remove",
            (OwnerRef(OwnerKind.USER, "U0PAT0001"),),
        ),
        (
            "owners publisher:contoso add <@U0PAT0001>",
            "publisher:contoso",
            "add",
            (OwnerRef(OwnerKind.USER, "U0PAT0001"),),
        ),
    ],
)
def test_owners_commands_as_slack_sends_them(
    typed: str, query: str, change: str | None, owners: tuple[OwnerRef, ...]
) -> None:
    found = owners_args(args(typed))
    assert (found.query, found.change, found.owners) == (query, change, owners)
    assert (found.target is not None) == query.startswith("publisher:")


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ([], "write `owners <offer>`"),
        (["all", "add", "<@U0PAT0001>"], "not on `all`"),
        (["woodgrove", "add"], "needs who"),
        (["woodgrove", "add", "@pat"], "not someone Slack knows"),
        (["woodgrove", "add", "<#C0CHAN001>"], "not someone Slack knows"),
        (["woodgrove", "add", "<!here>"], "not someone Slack knows"),
        (["woodgrove", "add", "pat@"], "not someone Slack knows"),
        (["publisher:", "add", "<@U0PAT0001>"], "publisher:<id>"),
    ],
)
def test_what_owners_refuses_names_what_to_type(words: list[str], says: str) -> None:
    with pytest.raises(UsageError, match=says.replace("`", ".").replace("<", ".").replace(">", ".")):
        owners_args(words)


def test_only_a_change_of_owners_writes() -> None:
    assert writes("owners woodgrove add <@U0PAT0001>") and writes("owners woodgrove remove a@b.example")
    assert not writes("owners woodgrove") and not writes("owners add-on offer")
    assert writes("settings threading off") and not writes("list")


def test_a_mention_is_an_id_and_an_address_is_lower_cased() -> None:
    assert owner_ref("<@U0PAT0001>") == OwnerRef(OwnerKind.USER, "U0PAT0001")
    assert owner_ref("Ops@Contoso.Example") == OwnerRef(OwnerKind.EMAIL, "ops@contoso.example")
