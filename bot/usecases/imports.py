"""The import use-case: a status document (already read within its size limit) into a workspace."""

from __future__ import annotations

from datetime import datetime

from storage import db
from storage.errors import OfferbotError
from storage.imports.documents import parse_document
from storage.imports.importer import ImportSummary, import_offers, synced_among
from storage.workspaces import default_team


class OwnedBySync(OfferbotError):
    """A push names offers that a sync source follows: refused whole, nothing written."""

    def __init__(self, owned: list[tuple[str, str]]) -> None:
        shown = ", ".join(f"{offer_id} (the {feed} sync)" for offer_id, feed in owned[:10])
        more = f" and {len(owned) - 10} more" if len(owned) > 10 else ""
        super().__init__(
            f"{len(owned)} offer(s) of this document are read from Microsoft by a sync, which owns their "
            f"state: {shown}{more}. Nothing was imported; leave them out of the push."
        )
        self.owned = owned


def import_document(
    session_factory: db.SessionFactory,
    *,
    text: str,
    source: str,
    now: datetime,
    team_id: str | None = None,
    writer: str = "import",
    refuse_synced: bool = False,
) -> ImportSummary:
    """Validate the whole document first (nothing is written when any offer is wrong), then upsert
    its offers in one transaction, into ``team_id`` or the default workspace. ``writer`` names who
    wrote it in the history and on the card (``import``, ``push``); with ``refuse_synced`` (the push
    API), a document naming any offer that a sync follows is refused whole (:class:`OwnedBySync`)."""
    offers = parse_document(text, source=source)
    with db.transaction(session_factory) as session:
        team = team_id or default_team(session)
        if refuse_synced:
            owned = synced_among(session, team_id=team, offers=offers)
            if owned:
                raise OwnedBySync([(offer.offer_id, feed) for offer, feed in owned])
        return import_offers(session, team_id=team, offers=offers, now=now, source=writer)
