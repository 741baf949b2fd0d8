"""A channel's own settings: whether its alerts are threaded, and the language they are written in."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import ChannelSettings


def set_threading(session: Session, *, team_id: str, channel: str, threading: bool) -> None:
    row = session.get(ChannelSettings, (team_id, channel))
    if row is None:
        row = ChannelSettings(team_id=team_id, channel=channel, threading=threading)
    row.threading = threading
    session.add(row)
    session.flush()


def threading_for(session: Session, *, team_id: str, channel: str) -> bool:
    row = session.get(ChannelSettings, (team_id, channel))
    return True if row is None else row.threading


def set_language(session: Session, *, team_id: str, channel: str, language: str) -> None:
    row = session.get(ChannelSettings, (team_id, channel))
    if row is None:
        row = ChannelSettings(team_id=team_id, channel=channel)
    row.language = language
    session.add(row)
    session.flush()


def language_for(session: Session, *, team_id: str, channel: str) -> str | None:
    """The language set for a channel's alerts, or None when none was set."""
    row = session.get(ChannelSettings, (team_id, channel))
    return None if row is None else row.language
