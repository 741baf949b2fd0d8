"""Who may do what. Pure rules over an :class:`Actor` (who asks, as Slack describes them) and an
:class:`AccessPolicy` (the workspace's settings); the grammar asks before it calls a use-case.

- Guests get nothing, unless ``OFFERBOT_ALLOW_GUESTS`` lets them query.
- Members query, use ``notify-me``/``mute-me`` for themselves, and subscribe the channel they type
  in and change its settings, unless ``OFFERBOT_MANAGERS`` is set: then channel changes are for
  workspace admins and owners and that list.
- A subscription is removed by whoever made it, admins and owners, and the managers list.
- Publishing an offer (*Go live*), owners and Partner Center connections are for workspace admins
  and owners and the managers list, whether or not the list is set.
- When Slack could not say who someone is, queries go on and changes are refused: never allowed by
  default.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.i18n import N_
from storage.errors import UsageError


class Action(StrEnum):
    QUERY = "query"
    OWN_ALERTS = "own-alerts"
    CHANNEL_CHANGE = "channel-change"
    PUBLISH = "publish"
    """*Go live* and *Cancel publish*: workspace admins and owners and the managers, always."""
    SET_OWNERS = "set-owners"
    """``owners … add|remove``: the same people."""
    CONNECTIONS = "connections"
    """Adding, testing and removing Partner Center connections: the same people."""


@dataclass(frozen=True)
class Actor:
    user_id: str
    known: bool = True
    """False when Slack could not be asked who the user is (then only queries go on)."""
    is_guest: bool = False
    is_manager: bool = False
    """A workspace admin or owner, or on the ``OFFERBOT_MANAGERS`` list."""


OPERATOR = Actor(user_id="", is_manager=True)
"""Whoever runs the shell: the operator of the store, allowed everything."""


@dataclass(frozen=True)
class AccessPolicy:
    allow_guests: bool = False
    managers_only: bool = False
    """``OFFERBOT_MANAGERS`` is set: channel changes are reserved to admins, owners and the list."""


UNKNOWN = N_("I could not ask Slack who you are, so I changed nothing: try again in a minute.")


OPEN = AccessPolicy()
"""No guests, no managers list: the default."""


class PermissionDenied(UsageError):
    """The actor may not do this; the message says who may."""


def check(actor: Actor, action: Action, policy: AccessPolicy) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may do ``action``."""
    if actor.is_guest and not policy.allow_guests:
        raise PermissionDenied(N_("offerbot is not open to guests in this workspace."))
    if actor.is_guest and action is not Action.QUERY:
        raise PermissionDenied(N_("guests may look offers up, nothing more."))
    if action is Action.QUERY:
        return
    if not actor.known:
        raise PermissionDenied(
            N_("I could not ask Slack who you are, so I changed nothing: try again in a minute.")
        )
    if action is Action.PUBLISH and not actor.is_manager:
        raise PermissionDenied(
            N_("only workspace admins and owners and offerbot's managers may publish an offer from Slack.")
        )
    if action is Action.SET_OWNERS and not actor.is_manager:
        raise PermissionDenied(
            N_("only workspace admins and owners and offerbot's managers may change an offer's owners.")
        )
    if action is Action.CONNECTIONS and not actor.is_manager:
        raise PermissionDenied(
            N_(
                "only workspace admins and owners and offerbot's managers may change Partner Center "
                "connections."
            )
        )
    if action is Action.CHANNEL_CHANGE and policy.managers_only and not actor.is_manager:
        raise PermissionDenied(
            N_("only workspace admins and owners and offerbot's managers may change this channel's alerts.")
        )


def check_removal(actor: Actor, *, created_by: str, policy: AccessPolicy) -> None:
    """A subscription is removed by whoever made it, by admins and owners, and by the managers."""
    check(actor, Action.QUERY, policy)
    if not actor.known:
        raise PermissionDenied(
            N_("I could not ask Slack who you are, so I changed nothing: try again in a minute.")
        )
    if actor.is_manager or not created_by or created_by == actor.user_id:
        return
    raise PermissionDenied(
        N_(
            "<@%(creator)s> made this subscription: they can remove it, and so can workspace admins "
            "and owners and offerbot's managers."
        ),
        creator=created_by,
    )
