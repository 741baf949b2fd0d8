"""The client certificates a workspace's admins may name from the Home tab: PEM files the operator
put in the workspace's own folder of ``OFFERBOT_CERTIFICATE_DIR`` (a certificate does not fit a
Slack input), each checked (a plain file name, no symbolic link, 64 KiB at most) before it is read."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from bot.i18n import N_
from bot.usecases.connections import ConnectionInputError

log = logging.getLogger(__name__)

_PEM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.pem")
MAX_PEM = 64 * 1024


def _folder(directory: Path | None, team_id: str) -> Path | None:
    """The workspace's own folder of ``OFFERBOT_CERTIFICATE_DIR``: ``<dir>/<team id>``."""
    if directory is None or not re.fullmatch(r"[TE][A-Z0-9]{1,31}", team_id):
        return None
    return directory / team_id


def certificate_files(directory: Path | None, team_id: str) -> tuple[str, ...]:
    """The ``*.pem`` files of the workspace's folder (at most 100, sorted; no symbolic links); none
    when it is unset or unreadable. Each workspace sees its own folder only."""
    folder = _folder(directory, team_id)
    if folder is None or not folder.is_dir():
        return ()
    try:
        names = sorted(
            p.name
            for p in folder.iterdir()
            if _PEM_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink()
        )
    except OSError as exc:
        log.warning("OFFERBOT_CERTIFICATE_DIR cannot be read (%s)", exc.strerror)
        return ()
    return tuple(names[:100])


def certificate_from_dir(directory: Path | None, team_id: str, name: str) -> bytes:
    """The PEM named ``name`` in the workspace's folder of ``OFFERBOT_CERTIFICATE_DIR``: a plain file
    name of that folder (no path, no symbolic link), at most 64 KiB, checked before it is read."""
    folder = _folder(directory, team_id)
    if folder is None:
        raise ConnectionInputError(
            "certificate", N_("certificates from the Home tab need OFFERBOT_CERTIFICATE_DIR set")
        )
    if not _PEM_NAME.fullmatch(name) or name not in certificate_files(directory, team_id):
        raise ConnectionInputError(
            "certificate", N_('"%(name)s" is not a PEM file of OFFERBOT_CERTIFICATE_DIR'), name=name[:100]
        )
    try:
        fd = os.open(folder / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_PEM:
                raise ConnectionInputError("certificate", N_("the certificate file is over 64 KiB"))
            return file.read(MAX_PEM + 1)
    except OSError as exc:
        log.warning("certificate %s cannot be read (%s)", name, exc.strerror)
        raise ConnectionInputError("certificate", N_("the certificate file cannot be read")) from None
