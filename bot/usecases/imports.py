"""The import use-case: a status document (already read within its size limit) into a workspace."""

from __future__ import annotations

from datetime import datetime

from storage import db
from storage.documents import parse_document
from storage.importer import ImportSummary, import_offers
from storage.workspaces import default_team


def import_document(
    session_factory: db.SessionFactory, *, text: str, source: str, now: datetime, team_id: str | None = None
) -> ImportSummary:
    """Validate the whole document first (nothing is written when any offer is wrong), then upsert
    its offers in one transaction, into ``team_id`` or the default workspace."""
    offers = parse_document(text, source=source)
    with db.transaction(session_factory) as session:
        return import_offers(session, team_id=team_id or default_team(session), offers=offers, now=now)
