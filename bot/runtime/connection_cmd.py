"""``offerbot connection add|replace|test|list|remove|rotate-key|new-key``: a workspace's Partner Center
connections from the command line (an operator's action: the store's operator may do everything).
A secret is read from standard input or a file, a certificate only from a file path; neither is
ever printed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import SecretStr

from bot.clock import utc_now
from bot.settings import Settings
from bot.usecases.access import OPERATOR
from storage import db
from storage.errors import UsageError
from storage.workspaces import default_team

if TYPE_CHECKING:  # the use-cases (MSAL, cryptography) are imported when the command runs, so that
    # building the parser costs every other command nothing
    from bot.usecases.connections import ConnectionInput, ConnectionTest, ConnectionView, NewCredential
    from storage.sealing import Sealer

MAX_SECRET_FILE = 64 * 1024


def add_parser(sub: Any) -> None:
    p = sub.add_parser("connection", help="a workspace's Partner Center connections: add, test, list, remove")
    p.add_argument(
        "action",
        choices=["add", "replace", "test", "list", "remove", "rotate-key", "new-key"],
        help="add, test (one token, one request), list or remove a connection; replace: its secret or "
        "certificate; rotate-key: seal every secret with the first key; new-key: print a new key",
    )
    p.add_argument("name", nargs="?", default="", help="the connection's name (add, replace, test, remove)")
    p.add_argument("--team", default=None, help="the workspace (T...; default: the store's default one)")
    p.add_argument("--tenant", default="", help="add: the Directory (tenant) ID")
    p.add_argument("--client-id", default="", help="add: the Application (client) ID")
    p.add_argument("--publisher-id", default="", help="add: the Partner Center publisher id it reads")
    p.add_argument(
        "--cloud-partner-publishers", default="", help="add: Cloud Partner Portal publishers, comma-separated"
    )
    p.add_argument(
        "--secret-file",
        default=None,
        help="add, replace: the client secret, from this file (- for standard input)",
    )
    p.add_argument(
        "--certificate",
        default=None,
        help="add, replace: a PEM file with the private key and the certificate",
    )
    p.add_argument(
        "--certificate-password-file",
        default=None,
        help="add: the key's password, from this file (- for stdin)",
    )


def _read(path: str, stdin: TextIO, what: str) -> SecretStr:
    if path == "-":
        data = stdin.read(MAX_SECRET_FILE + 1)
    else:
        try:
            data = Path(path).read_text(encoding="utf-8", errors="replace")[: MAX_SECRET_FILE + 1]
        except OSError as exc:
            raise UsageError(f"{what}: cannot read {path} ({exc.strerror})") from None
    if len(data) > MAX_SECRET_FILE:
        raise UsageError(f"{what}: over {MAX_SECRET_FILE} bytes")
    return SecretStr(data.strip())


def _credential(args: argparse.Namespace, stdin: TextIO) -> NewCredential:
    from bot.usecases.connections import NewCredential

    certificate = None
    if args.certificate:
        try:
            certificate = Path(args.certificate).read_bytes()[: 64 * 1024 + 1]
        except OSError as exc:
            raise UsageError(f"--certificate: cannot read {args.certificate} ({exc.strerror})") from None
    password = (
        _read(args.certificate_password_file, stdin, "--certificate-password-file")
        if args.certificate_password_file
        else None
    )
    secret = _read(args.secret_file, stdin, "--secret-file") if args.secret_file else None
    return NewCredential(secret=secret, certificate=certificate, certificate_password=password)


def _input(args: argparse.Namespace, team: str, stdin: TextIO) -> ConnectionInput:
    from bot.usecases.connections import ConnectionInput

    credential = _credential(args, stdin)
    return ConnectionInput(
        team_id=team,
        name=args.name,
        tenant_id=args.tenant,
        client_id=args.client_id,
        publisher_id=args.publisher_id,
        cloud_partner_publishers=args.cloud_partner_publishers,
        secret=credential.secret,
        certificate=credential.certificate,
        certificate_password=credential.certificate_password,
    )


def line(view: ConnectionView) -> str:
    reads = ", ".join(
        ([f"Partner Center publisher {view.publisher_id}"] if view.publisher_id else [])
        + [f"Cloud Partner Portal publisher {p}" for p in view.cloud_partner_publishers]
    )
    cred = view.credential + (f" (thumbprint {view.thumbprint})" if view.thumbprint else "")
    if view.refused_at is not None:
        state = f"REFUSED since {view.refused_at:%Y-%m-%d %H:%M} UTC: {view.refused_reason}"
    else:
        state = f"read {view.read_at:%Y-%m-%d %H:%M} UTC" if view.read_at else "not read yet"
    return f"{view.name}  tenant {view.tenant_id}  client {view.client_id}  {cred}  reads {reads}  {state}"


def test_lines(result: ConnectionTest) -> list[str]:
    lines = [f"connection {result.name}: credential: {result.credential}"]
    for c in result.checks:
        found = f"a token, and {c.products} product(s) on the first page" if c.ok else f"FAILED: {c.problem}"
        lines.append(f"  {c.label}: {found}")
    return lines


def _default_team(factory: db.SessionFactory) -> str:
    with factory() as session:
        return default_team(session)


def run(
    settings: Settings, args: argparse.Namespace, *, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout
) -> int:
    from bot.usecases import connections as uc
    from storage.sealing import new_key

    if args.action == "new-key":
        print(new_key(), file=out)
        return 0
    factory = db.session_factory(db.open_database(settings.database_url))
    team = args.team or _default_team(factory)
    if args.action in ("add", "replace", "test", "remove") and not args.name:
        raise UsageError(f"connection {args.action} needs a name: offerbot connection {args.action} NAME")
    if args.action == "list":
        for view in uc.list_connections(factory, team_id=team):
            print(line(view), file=out)
        return 0
    if args.action == "remove":
        n = uc.remove_connection(factory, actor=OPERATOR, team_id=team, name=args.name, now=utc_now())
        print(
            f"removed connection {args.name} of {team}; {n} offer(s) it read kept, marked removed", file=out
        )
        return 0
    return _sealed(settings, args, factory, team, stdin=stdin, out=out)


def _sealed(
    settings: Settings,
    args: argparse.Namespace,
    factory: db.SessionFactory,
    team: str,
    *,
    stdin: TextIO,
    out: TextIO,
) -> int:
    """The actions that need ``OFFERBOT_SECRET_KEY``: rotate-key, add, replace, test."""
    from bot.usecases import connections as uc

    sealer = settings.require_sealer()
    if args.action == "rotate-key":
        n = uc.rotate_key(factory, sealer=sealer, now=utc_now())
        print(f"{n} secret(s) sealed again with the first key of OFFERBOT_SECRET_KEY", file=out)
        return 0
    if args.action == "add":
        view = uc.add_connection(
            factory, actor=OPERATOR, data=_input(args, team, stdin), sealer=sealer, now=utc_now()
        )
        print(f"added connection for {team}: {line(view)}", file=out)
        return 0
    if args.action == "replace":
        credential = _credential(args, stdin)
        view = uc.replace_credential(
            factory,
            actor=OPERATOR,
            team_id=team,
            name=args.name,
            credential=credential,
            sealer=sealer,
            now=utc_now(),
        )
        print(f"replaced the credential of {team}/{args.name}: {line(view)}", file=out)
        return 0
    return _test(settings, factory, team, args.name, sealer, out)


def _test(
    settings: Settings, factory: db.SessionFactory, team: str, name: str, sealer: Sealer, out: TextIO
) -> int:
    from bot.usecases import connections as uc

    result = uc.check_connection(
        factory, actor=OPERATOR, team_id=team, name=name, settings=settings, sealer=sealer
    )
    for text in test_lines(result):
        print(text, file=out)
    return 0 if result.ok else 1
