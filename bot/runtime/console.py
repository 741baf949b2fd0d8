"""``offerbot shell``: the local console, in the spirit of Hubot's shell adapter, with alerts.

You are a local user (``--user``, default ``U0SHELL01``) in a local channel (``--channel``, default
``C0SHELL01``): every ``/offer-status`` command works as in Slack, ``subscribe``, ``notify-me``,
``settings`` and ``test-alert`` included, and ``import FILE`` typed at the prompt imports a document.
After each line the real watcher runs one pass in this process against the shell's Slack
(:class:`~bot.slack.localslack.LocalSlack`), so the alerts, follow-ups and DMs a change causes are
printed as text, as they would be posted. That is on a local store only (no Slack token, no
workspace bound or installed, no other team's offers): on a store that serves a workspace, whose
alerts are the service's to send, the shell only reads."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from bot.alerting.outcomes import WatcherConfig
from bot.alerting.watcher import run_pass
from bot.clock import Clock, utc_now
from bot.i18n import ENGLISH, Translator
from bot.jobs.forecast import ForecastJob
from bot.render.help import render_error
from bot.render.owners import render_channel_note
from bot.render.subscriptions import render_subscription_confirmation
from bot.slack import answers, grammar
from bot.slack.localslack import LocalSlack
from bot.slack.shell import command_text, render_reply
from bot.usecases.access import OPEN, Actor
from bot.usecases.subscriptions import AlertArgs, AlertRequest, preview_subscribe, subscribe_channel
from storage import db
from storage.errors import OfferbotError
from storage.imports.importer import ImportSummary
from storage.workspaces import default_team, is_local_store

log = logging.getLogger(__name__)

PROMPT = "offerbot> "
DEFAULT_USER = "U0SHELL01"
DEFAULT_CHANNEL = "C0SHELL01"
EXIT_WORDS = ("exit", "quit", r"\q")


@dataclass
class Console:
    """One shell session: who and where you are, and the watcher that runs after each line."""

    factory: db.SessionFactory
    import_file: Callable[[str], ImportSummary]
    tr: Translator = ENGLISH
    user: str = DEFAULT_USER
    channel: str = DEFAULT_CHANNEL
    clock: Clock = utc_now
    slack_configured: bool = False
    """Slack tokens are set: the store serves a real workspace, so the shell only reads it."""
    _printed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        with self.factory() as session:
            self.team = default_team(session)
        self.alerts = self._local()
        self.slack = LocalSlack(out=self._printed.append, team_id=self.team, user_id=self.user, tr=self.tr)
        self.actor = Actor(user_id=self.user, is_manager=True)  # the operator, as a local user

    def _local(self) -> bool:
        """Whether this store is the shell's own (asked at the start and again before each line: the
        service may bind a workspace while the shell is open)."""
        if self.slack_configured:
            return False
        with self.factory() as session:
            return is_local_store(session)

    def start(self) -> int:
        """A first watcher pass for the changes stored before the shell opened (the sample import of
        ``up``): sent as the service would send them, not printed. Returns how many were posted."""
        self._printed.clear()
        self._watch()
        count = len(self._printed)
        self._printed.clear()
        return count

    def run_line(self, line: str) -> str:
        """The answer to one line, then what the watcher posted because of it."""
        self._printed.clear()
        self.alerts = self.alerts and self._local()  # once a workspace's, never the shell's again
        text = line.strip()
        head, _, rest = text.partition(" ")
        answer = self._import(rest.strip()) if head.lower() == "import" else self._command(text)
        self._watch()
        return "\n\n".join([answer, *[p.rstrip() for p in self._printed]])

    def _import(self, path: str) -> str:
        if not path:
            return self.tr._("Type `import FILE`: the path of a status document.")
        if not self.alerts:
            return self.tr._(
                "The shell only reads this store: it belongs to a Slack workspace, whose alerts the "
                "service sends. Import with `offerbot import FILE`."
            )
        try:
            return "import: " + self.import_file(path).line()
        except OfferbotError as exc:
            return render_reply(render_error(exc, tr=self.tr), self.tr)

    def _command(self, line: str) -> str:
        text = command_text(line, tr=self.tr)
        if text is None:
            return self.tr._("Unknown command %(verb)s: this bot has `/offer-status`.", verb=line.split()[0])
        verb = grammar.first_word(text)
        writes = grammar.writes(text)
        if not self.alerts and (writes or grammar.subscribe_args(text) is not None):
            return self.tr._(
                "The shell only reads this store: it belongs to a Slack workspace, whose alerts the "
                "service sends. Use `/offer-status %(verb)s` in Slack.",
                verb=verb,
            )
        try:
            with db.transaction(self.factory) if writes else self.factory() as session:
                answered = answers.answer_command(
                    session,
                    team_id=self.team,
                    text=text,
                    tr=self.tr,
                    now=self.clock(),
                    user_id=self.user,
                    channel_id=self.channel,
                    actor=self.actor,
                    policy=OPEN,
                )
        except OfferbotError as exc:
            return render_reply(render_error(exc, tr=self.tr), self.tr)
        for change in answered.changes:
            note = render_channel_note(change.change, user_id=change.user_id, tr=self.tr)
            self.slack.chat_postMessage(channel=change.channel, text=note.text, blocks=note.blocks)
        typed = grammar.subscribe_args(text)
        if typed is not None:
            self._subscribe(typed)
        return render_reply(answered.reply, self.tr)

    def _subscribe(self, typed: AlertArgs) -> None:
        """Save the ``subscribe`` the answer previewed, and post its confirmation in the channel."""
        with self.factory() as session:
            request = preview_subscribe(
                session, team_id=self.team, channel=self.channel, actor=self.actor, policy=OPEN, args=typed
            )
        if not isinstance(request, AlertRequest):
            return
        with db.transaction(self.factory) as session:
            subscribe_channel(
                session,
                team_id=self.team,
                channel=self.channel,
                user_id=self.user,
                request=request,
                now=self.clock(),
                actor=self.actor,
                policy=OPEN,
            )
        confirmation = render_subscription_confirmation(request, user_id=self.user, tr=self.tr)
        self.slack.chat_postMessage(channel=self.channel, text=confirmation.text, blocks=confirmation.blocks)

    def _watch(self) -> None:
        """One watcher pass against the shell's Slack (no pacing: nothing is rate limited here), then
        the forecasts of what changed, on a local store only: a workspace's are the service's."""
        if not self.alerts:
            return
        config = WatcherConfig(channel_interval=0.0, language=self.tr.language)
        report = run_pass(session_factory=self.factory, client=self.slack, clock=self.clock, config=config)
        if report.errors:
            log.warning("shell watcher pass: %s", "; ".join(report.errors))
        ForecastJob(self.factory, clock=self.clock)()  # when the offers in progress will be live


def _greet(console: Console, *, stdout: TextIO, interactive: bool) -> None:
    """What the shell says before its first prompt: what the first pass posted, and what it does."""
    earlier = console.start()
    if earlier:
        print(
            console.tr.ngettext(
                "(%(n)d message about what the store held before the shell opened was posted, not shown.)",
                "(%(n)d messages about what the store held before the shell opened were posted, not shown.)",
                earlier,
            ),
            file=stdout,
        )
    if not console.alerts:
        print(
            console.tr._(
                "(This store belongs to a Slack workspace: the shell answers commands but runs no alerts, "
                "imports nothing and changes no subscription or setting; the service does that.)"
            ),
            file=stdout,
        )
    if interactive:
        print(
            console.tr._(
                "offerbot shell: you are %(user)s in %(channel)s. Type `/offer-status help`, "
                "`import FILE` to import a document, or `exit` to leave.",
                user=console.user,
                channel="#" + console.channel,
            ),
            file=stdout,
        )


def run_console(console: Console, *, stdin: TextIO, stdout: TextIO) -> None:
    interactive = stdin.isatty()
    _greet(console, stdout=stdout, interactive=interactive)
    while True:
        if interactive:
            stdout.write(PROMPT)
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        if line.strip().lower() in EXIT_WORDS:
            break
        if not line.strip():
            continue
        print(console.run_line(line), file=stdout)
        print(file=stdout)
        stdout.flush()
