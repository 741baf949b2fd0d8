"""The owners' look-up: the Slack users behind the owners' e-mail addresses of offers whose changes
alert, asked of Slack and cached before the fan-out, which waits for them; and the members of the user
groups set as owners, asked of Slack each pass (``usergroups.users.list``), so an alert goes to
whoever is in the group when it is sent."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.alerting.outcomes import SlackTransient
from bot.clock import Clock
from bot.slack.clients import Clients
from bot.slack.errors import NETWORK_ERRORS, classify
from storage import db
from storage.alerts import fanout
from storage.alerts.policy import ALERT_EVENTS
from storage.models import Offer
from storage.owners import slack_owners
from storage.people import all_owner_emails, cached_users, needs_lookup, record_lookup
from storage.statuses import OfferStatus

log = logging.getLogger(__name__)


def owner_ref(email: str) -> str:
    """How logs name an owner: a short hash of the address, never the address itself."""
    return "owner#" + hashlib.sha256(email.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Wanted:
    offer_id: str
    was_missing: bool


def resolve_owner_emails(*, session_factory: db.SessionFactory, clients: Clients, clock: Clock) -> int:
    """Look up (and cache) the Slack users of the owners of offers whose pending changes alert.
    Raises :class:`SlackTransient` when Slack cannot answer now, so the changes wait for the owners."""
    now = clock()
    wanted: dict[tuple[str, str], Wanted] = {}
    with session_factory() as session:
        for change in fanout.unhandled_changes(session):
            if OfferStatus(change.new_status) not in ALERT_EVENTS:
                continue
            offer = session.get(Offer, change.offer_pk)
            if offer is None:
                continue
            emails = all_owner_emails(session, offer)
            cache = cached_users(session, team_id=offer.team_id, emails=emails)
            for email in emails:
                entry = cache.get(email)
                if needs_lookup(entry, now):
                    missing = entry is not None and entry.user_id is None
                    wanted[(offer.team_id, email)] = Wanted(offer.offer_id, missing)
    for (team, email), why in wanted.items():
        client = clients.for_team(team)
        if client is None:
            continue  # the workspace uninstalled the app: its changes wait for a reinstall
        try:
            user: str | None = str(client.users_lookupByEmail(email=email)["user"]["id"])
        except SlackApiError as exc:
            failure = classify(exc)
            error = failure.code
            if failure.transient:
                raise SlackTransient(f"users.lookupByEmail: {error}") from exc
            user = None
            if not why.was_missing:  # logged when first missed
                _log_lookup_failure(why.offer_id, email, error)
        except NETWORK_ERRORS as exc:
            raise SlackTransient(f"users.lookupByEmail: {classify(exc).code}") from exc
        with db.transaction(session_factory) as session:
            record_lookup(session, team_id=team, email=email, user_id=user, now=now)
    return len(wanted)


def _log_lookup_failure(offer_id: str, email: str, error: str) -> None:
    if error == "users_not_found":
        log.warning("offer %s: no Slack user has the address of %s: skipping it", offer_id, owner_ref(email))
    else:
        log.error(
            "offer %s: users.lookupByEmail failed for %s (%s): skipping it for a day",
            offer_id,
            owner_ref(email),
            error,
        )


def resolve_owner_groups(
    *, session_factory: db.SessionFactory, clients: Clients
) -> dict[tuple[str, str], list[str]]:
    """The members of every user group that owns an offer whose pending changes alert. Raises
    :class:`SlackTransient` when Slack cannot answer now; a group Slack does not know (deleted, or
    the ``usergroups:read`` scope missing) is logged and has no members."""
    wanted: set[tuple[str, str]] = set()
    with session_factory() as session:
        for change in fanout.unhandled_changes(session):
            if OfferStatus(change.new_status) not in ALERT_EVENTS:
                continue
            offer = session.get(Offer, change.offer_pk)
            if offer is not None:
                wanted.update((offer.team_id, g) for g in slack_owners(session, offer=offer).groups)
    members: dict[tuple[str, str], list[str]] = {}
    for team, group in sorted(wanted):
        client = clients.for_team(team)
        if client is None:
            continue
        try:
            users = client.usergroups_users_list(usergroup=group).get("users") or []
        except SlackApiError as exc:
            failure = classify(exc)
            if failure.transient:
                raise SlackTransient(f"usergroups.users.list: {failure.code}") from exc
            log.warning(
                "user group %s owns offers but Slack answered %s: nobody in it is told", group, failure.code
            )
            users = []
        except NETWORK_ERRORS as exc:
            raise SlackTransient(f"usergroups.users.list: {classify(exc).code}") from exc
        members[(team, group)] = [str(u) for u in users if isinstance(u, str)]
    return members
