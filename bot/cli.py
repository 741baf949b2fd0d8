"""``offerbot``: migrate, import, serve, shell, and ``up`` (the one-command start of the README)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from bot import logs
from bot.clock import utc_now
from bot.i18n import Language, translator
from bot.runtime import connection_cmd
from bot.settings import Settings, load_settings
from bot.slack.identity import SlackUnreachable
from bot.usecases.imports import import_document
from storage import db
from storage.errors import ConfigError, DocumentError, OfferbotError, UsageError
from storage.imports.importer import ImportSummary
from storage.models import LOCAL_TEAM, ApiToken
from storage.reads.offers import store_is_empty
from storage.tokens import create_token, list_tokens, revoke_token
from storage.workspaces import default_team, remove_offers

log = logging.getLogger(__name__)

SAMPLES = Path(__file__).resolve().parent.parent / "storage" / "samples" / "offers.json"


MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
"""An import document larger than this is refused before it is read whole."""


def import_file(settings: Settings, path: str, *, stdin: TextIO, team: str | None = None) -> ImportSummary:
    too_big = f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB: split it into several imports"
    if path == "-":
        data, source = stdin.read(MAX_DOCUMENT_BYTES + 1), "<stdin>"
        if len(data) > MAX_DOCUMENT_BYTES:
            raise DocumentError(f"<stdin>: {too_big}")
    else:
        source = path
        try:
            if Path(path).stat().st_size > MAX_DOCUMENT_BYTES:
                raise DocumentError(f"{path}: {too_big}")
            data = Path(path).read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise DocumentError(f"{path}: no such file") from None
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise DocumentError(f"{path}: cannot read it ({exc.strerror})") from None
    factory = db.session_factory(db.open_database(settings.database_url))
    return import_document(factory, text=data, source=source, now=utc_now(), team_id=team)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    if settings.multi_workspace and not args.team:
        raise ConfigError("multi-workspace mode: name the workspace to import into with --team T...")
    summary = import_file(settings, args.file, stdin=sys.stdin, team=args.team)
    print(f"imported {'<stdin>' if args.file == '-' else args.file}: {summary.line()}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime.serve import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def cmd_watch(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime.serve import watch

    report = watch(settings, once=args.once)
    if report is not None:
        print(f"watcher pass: {report.line()}")
    return 0


def cmd_jobs(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.runtime.jobs_process import lower_priority
    from bot.runtime.serve import jobs

    lower_priority(settings.offerbot_jobs_nice)
    jobs(settings)
    return 0


def cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime.serve import sync

    if args.team:
        settings = settings.model_copy(update={"offerbot_sync_team": args.team})
    report = sync(settings, once=args.once)
    if report is None:
        return 0
    if not report.ok:
        print(f"offerbot: sync failed: {report.line()}", file=sys.stderr)
        return 1
    print(f"sync: {report.line()}")
    return 0


def cmd_shell(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime.console import DEFAULT_CHANNEL, DEFAULT_USER, Console, run_console

    engine = db.open_database(settings.database_url)
    tr = translator(getattr(args, "lang", None) or settings.offerbot_language)
    console = Console(
        db.session_factory(engine),
        import_file=lambda path: import_file(settings, path, stdin=sys.stdin),
        tr=tr,
        user=getattr(args, "user", None) or DEFAULT_USER,
        channel=getattr(args, "channel", None) or DEFAULT_CHANNEL,
        slack_configured=settings.has_slack,
    )
    run_console(console, stdin=sys.stdin, stdout=sys.stdout)
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    """``token create|list|revoke``: the push API's tokens (an operator's action, not Slack's)."""
    factory = db.session_factory(db.open_database(settings.database_url))
    name = args.name
    if args.action in ("create", "revoke") and not name:
        raise UsageError(f"token {args.action} needs a name: offerbot token {args.action} NAME")
    with db.transaction(factory) as session:
        if args.action == "create":
            team = args.team or default_team(session)
            token = create_token(session, team_id=team, name=name, now=utc_now())
            print(f"token {name!r} for workspace {team} (shown once, store it as a secret):\n{token}")
        elif args.action == "revoke":
            row = revoke_token(session, name=name, team_id=args.team, now=utc_now())
            print(f"revoked token {row.name!r} of workspace {row.team_id}")
        else:
            for row in list_tokens(session, team_id=args.team):
                print(_token_line(row))
    return 0


def _token_line(row: ApiToken) -> str:
    state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M} UTC" if row.revoked_at else "active"
    used = f"last used {row.last_used_at:%Y-%m-%d %H:%M} UTC" if row.last_used_at else "never used"
    return f"{row.team_id}  {row.name}  created {row.created_at:%Y-%m-%d %H:%M} UTC  {state}  {used}"


def sample_keys() -> list[tuple[str, str]]:
    """The ``(publisher id, offer id)`` of every bundled sample offer."""
    offers = json.loads(SAMPLES.read_text())["offers"]
    return [(str(o["publisherId"]), str(o["offerId"])) for o in offers]


def prepare_up(settings: Settings) -> str | None:
    """The store ``up`` starts on: with no Slack token, an empty store gets the sample offers (for the
    local shell); with a token, sample data is never written, and samples an earlier shell left in
    the local store are removed before the workspace binding could move them into Slack."""
    factory = db.session_factory(db.open_database(settings.database_url))
    if settings.has_slack:
        with db.transaction(factory) as session:
            removed = remove_offers(session, keys=sample_keys(), team_id=LOCAL_TEAM)
        return f"removed {removed} sample offer(s) the local shell had loaded" if removed else None
    with factory() as session:
        empty = store_is_empty(session)
    if not empty:
        return None
    summary = import_file(settings, str(SAMPLES), stdin=sys.stdin)
    return f"imported the sample offers: {summary.line()}"


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate, then serve (tokens set; never with sample data) or open the shell (the sample offers
    loaded into an empty store)."""
    said = prepare_up(settings)
    if said:
        print(said)
    if settings.has_slack:
        return cmd_serve(settings, args)
    print("No SLACK_BOT_TOKEN set: starting the local shell (docs/getting-started.md connects it to Slack).")
    return cmd_shell(settings, args)


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    """``doctor``: check the setup, one line a check with its fix."""
    from bot.runtime.doctor import doctor

    return doctor(settings)


def cmd_connection(settings: Settings, args: argparse.Namespace) -> int:
    """``connection add|replace|test|list|remove|rotate-key|new-key`` (bot/runtime/connection_cmd.py)."""
    return connection_cmd.run(settings, args)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """``demo reset``: remove the sample offers from the store, in every workspace, and say how many."""
    factory = db.session_factory(db.open_database(settings.database_url))
    with db.transaction(factory) as session:
        removed = remove_offers(session, keys=sample_keys())
    print(f"removed {removed} sample offer(s)" if removed else "no sample offers in this store")
    return 0


def cmd_alert(settings: Settings, args: argparse.Namespace) -> int:
    """``alert test --channel C…``: queue a test alert, then wait for the watcher to send it."""
    from bot.runtime.alerttest import queue, wait_for

    factory = db.session_factory(db.open_database(settings.database_url))
    key, queued = queue(factory, channel=args.channel, offer=args.offer, team=args.team)
    print(queued)
    outcome = wait_for(factory, delivery_id=key, seconds=max(0.0, args.wait))
    for line in outcome.lines:
        print(line)
    return outcome.status


def _add_shell_identity(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", default=None, help="the shell's local Slack user id (default U0SHELL01)")
    p.add_argument("--channel", default=None, help="the shell's local channel id (default C0SHELL01)")


def _add_servers(sub: Any) -> None:
    for name, text in (
        ("serve", "run the bot: Socket Mode with SLACK_APP_TOKEN, else HTTP"),
        ("up", "migrate, then serve (Slack tokens set) or open the shell with the sample offers"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument(
            "--host",
            default="127.0.0.1",
            help="address to listen on (default 127.0.0.1; --host 0.0.0.0 where Slack must reach the bot)",
        )
        p.add_argument(
            "--port",
            type=int,
            default=None,
            help="port to listen on (default 3000 in HTTP mode; Socket Mode listens only when it is given, "
            "for /healthz, /metrics and the push API)",
        )
        if name == "up":
            p.add_argument("--lang", choices=[lang.value for lang in Language], help="the shell's language")
            _add_shell_identity(p)


DESCRIPTION = "offerbot: Partner Center publishing status in Slack."
EPILOG = """\
The environment that matters (or a .env file beside the process; see .env.example, and NAME_FILE
for a secret in a file):
  SLACK_BOT_TOKEN, SLACK_APP_TOKEN    Socket Mode (no public URL needed)
  SLACK_SIGNING_SECRET                HTTP mode, with SLACK_BOT_TOKEN
  DATABASE_URL                        postgresql+psycopg://... to share one store; unset: the
                                      embedded SQLite store in OFFERBOT_DATA_DIR
  AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, PARTNER_CENTER_PUBLISHER_ID
                                      read offers from Partner Center (docs/partner-center.md)
Start with `offerbot up`: the local shell with the sample offers, or the bot once Slack tokens are set."""


def _add_operations(sub: Any) -> None:
    connection_cmd.add_parser(sub)
    p = sub.add_parser("token", help="push API tokens: create (printed once), list, revoke")
    p.add_argument("action", choices=["create", "list", "revoke"], help="what to do with the tokens")
    p.add_argument("name", nargs="?", default="", help="the token's name (create, revoke)")
    p.add_argument("--team", default=None, help="the workspace (default: the store's default workspace)")
    sub.add_parser("jobs", help="the watcher and the sync together, as serve runs them in a child process")
    sub.add_parser("doctor", help="check Slack, the store and Partner Center, each with its fix")
    p = sub.add_parser("demo", help="the sample offers: `demo reset` removes them from the store")
    p.add_argument("action", choices=["reset"], help="reset: remove the sample offers, in every workspace")
    p = sub.add_parser("alert", help="alerts: `alert test --channel C...` sends a test alert to a channel")
    p.add_argument("action", choices=["test"], help="test: a test alert, sent by the watcher as a real one")
    p.add_argument("--channel", required=True, help="the channel id (C...) to post the test alert in")
    p.add_argument(
        "--offer",
        default="",
        help="the offer it shows (id or part of its name; default: one the channel follows)",
    )
    p.add_argument("--team", default=None, help="the workspace (default: the store's default workspace)")
    p.add_argument(
        "--wait",
        type=float,
        default=30.0,
        help="seconds to wait for the watcher to send it (default 30; 0: none)",
    )
    p = sub.add_parser("watch", help="run the alert watcher alone (serve runs it too)")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p = sub.add_parser(
        "sync", help="read offers from Partner Center / the Cloud Partner Portal on a schedule"
    )
    p.add_argument("--once", action="store_true", help="one full pass that asks every product, then exit")
    p.add_argument(
        "--team", default=None, help="the workspace (T...) the offers go to (default: the bound one)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="offerbot",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"offerbot {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("migrate", help="create or upgrade the database schema (Alembic)")
    p = sub.add_parser("import", help="upsert offers from a JSON document (FILE, or - for stdin)")
    p.add_argument("file", metavar="FILE", help="the status document (JSON); - reads standard input")
    p.add_argument(
        "--team", default=None, help="the workspace (T...) to import into (default: the bound one)"
    )
    _add_servers(sub)
    p = sub.add_parser("shell", help="type /offer-status commands locally, with no Slack at all")
    p.add_argument(
        "--lang",
        choices=[lang.value for lang in Language],
        help="answer in this language (default: OFFERBOT_LANGUAGE, else en)",
    )
    _add_shell_identity(p)
    _add_operations(sub)
    return parser


COMMANDS = {
    "migrate": cmd_migrate,
    "import": cmd_import,
    "serve": cmd_serve,
    "shell": cmd_shell,
    "token": cmd_token,
    "up": cmd_up,
    "watch": cmd_watch,
    "jobs": cmd_jobs,
    "sync": cmd_sync,
    "demo": cmd_demo,
    "doctor": cmd_doctor,
    "alert": cmd_alert,
    "connection": cmd_connection,
}


SAYS_STORE = frozenset({"migrate", "import", "up", "shell", "token", "demo", "doctor", "alert", "connection"})
"""Commands a person reads: they print the store on standard error. The long-running ones (serve,
jobs, watch, sync) log it instead; ``sync --once`` and ``watch --once`` keep their one-line
outputs."""


def say_store(settings: Settings, args: argparse.Namespace) -> None:
    """Which store this command opens (a password never shown)."""
    shown = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    if args.command in SAYS_STORE:
        print(f"offerbot: store {shown}", file=sys.stderr)
    elif not getattr(args, "once", False):
        log.info("store %s", shown, extra={"store": shown})
    if settings.legacy_store:
        print(
            "offerbot: using ./offerbot.db from an earlier version; set OFFERBOT_DATA_DIR or DATABASE_URL "
            "to keep the store elsewhere",
            file=sys.stderr,
        )


def _log_level(settings: Settings, args: argparse.Namespace) -> str:
    """``LOG_LEVEL``; the local shell, whose watcher would log each post it prints, logs only
    warnings unless ``LOG_LEVEL`` is set."""
    shell = args.command == "shell" or (args.command == "up" and not settings.has_slack)
    return "WARNING" if shell and "log_level" not in settings.model_fields_set else settings.log_level


def package_version() -> str:
    try:
        return metadata.version("offerbot")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # ``offerbot`` alone: the help, not a usage error
        parser.print_help()
        return 0
    try:
        settings = load_settings()
        logs.configure(
            _log_level(settings, args), fmt=settings.offerbot_log_format, secrets=settings.secret_values()
        )
        say_store(settings, args)
        return COMMANDS[args.command](settings, args)
    except ConfigError as exc:
        print(f"offerbot: configuration: {exc}", file=sys.stderr)
        return 78
    except SlackUnreachable as exc:
        print(f"offerbot: {exc}", file=sys.stderr)
        return 69  # EX_UNAVAILABLE: a service is down, the configuration may well be right
    except OfferbotError as exc:
        print(f"offerbot: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        log.debug("database error", exc_info=exc)
        print(
            f"offerbot: database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}", file=sys.stderr
        )
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (``offerbot shell | head``): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
