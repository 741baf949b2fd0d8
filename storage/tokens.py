"""Push API tokens: created, listed and revoked by the operator (``offerbot token``), checked by the
push API. A token is ``ofb_`` and 43 random URL-safe characters; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from storage.errors import UsageError
from storage.models import ApiToken

PREFIX = "ofb_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, team_id: str, name: str, now: datetime) -> str:
    """A new token for ``team_id`` named ``name``; the token itself is returned once, never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise UsageError("a token's name is 1 to 100 characters")
    if session.exec(select(ApiToken).where(ApiToken.team_id == team_id, ApiToken.name == name)).first():
        raise UsageError(
            f"workspace {team_id} already has a token named {name!r} (revoked tokens keep their name)"
        )
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(team_id=team_id, name=name, token_hash=token_hash(token), created_at=now))
    session.flush()
    return token


def list_tokens(session: Session, *, team_id: str | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(col(ApiToken.team_id), col(ApiToken.name))
    if team_id is not None:
        query = query.where(ApiToken.team_id == team_id)
    return list(session.exec(query).all())


def revoke_token(session: Session, *, name: str, now: datetime, team_id: str | None = None) -> ApiToken:
    """Revoke the active token named ``name`` (in ``team_id`` when several workspaces have one)."""
    query = select(ApiToken).where(ApiToken.name == name, col(ApiToken.revoked_at).is_(None))
    if team_id is not None:
        query = query.where(ApiToken.team_id == team_id)
    found = list(session.exec(query).all())
    if not found:
        raise UsageError(f"no active token is named {name!r}")
    if len(found) > 1:
        raise UsageError(f"several workspaces have a token named {name!r}: add --team")
    found[0].revoked_at = now
    session.add(found[0])
    return found[0]


def authenticate(session: Session, *, token: str, now: datetime) -> ApiToken | None:
    """The active token ``token`` is, or None (unknown, malformed or revoked)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = now
    session.add(row)
    return row
