"""Partner Center connections from the Home tab, for workspace admins and owners and the managers.

*Add a connection* opens a form (``views.open``); its submission is checked and stored in the
acknowledgement itself (a wrong field is marked in the form, ``response_action: errors``; the secret
is sealed at once and never shown again), the form becomes what was added, and a lazy listener
publishes the tab again. A connection's menu *Test* opens a waiting modal, then a lazy listener makes
one token request and one API request per source and shows what they answered; *Remove…* asks
first, and its confirmation removes it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import SecretStr
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.guard import Expired
from bot.i18n import N_, Translator
from bot.render.connections import (
    ADD_ACTION,
    ADD_CALLBACK,
    FIELDS,
    MENU_ACTION,
    REMOVE_CALLBACK,
    REMOVE_PREFIX,
    REPLACE_CALLBACK,
    REPLACE_PREFIX,
    TEST_PREFIX,
    render_add_modal,
    render_added,
    render_remove_modal,
    render_removed,
    render_replace_modal,
    render_replaced,
    render_test,
    render_testing_modal,
    render_text_modal,
)
from bot.render.help import error_text
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.listeners import Deps, actor_of, team_of, user_of
from bot.slack.listeners.golive import reader_of
from bot.slack.listeners.home import publish_home
from bot.usecases.access import Action, check
from bot.usecases.certificates import certificate_files, certificate_from_dir
from bot.usecases.connections import (
    ConnectionInput,
    ConnectionInputError,
    NewCredential,
    add_connection,
    check_connection,
    remove_connection,
    replace_credential,
)
from storage.errors import OfferbotError, UsageError
from storage.sealing import Sealer

log = logging.getLogger(__name__)
T = TypeVar("T")
NO_KEY = N_("connections need OFFERBOT_SECRET_KEY: the operator sets it (docs: Partner Center, Connections)")


def _sealer(deps: Deps) -> Sealer:
    if deps.sealer is None:
        raise UsageError(NO_KEY)
    return deps.sealer


def _in_time(deps: Deps, work: Callable[[Expired], T]) -> T:
    """``work(expired)`` under the deadline: a store too slow gets "try again", and ``work`` rolls
    back instead of committing what the user was told did not happen."""
    return deps.deadline.run(work)


def _open(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        return
    try:
        client.views_open(trigger_id=trigger, view=view)
    except CALL_ERRORS as exc:
        log.warning("could not open the connection modal: %s", classify(exc).code)


def _external_id(body: dict[str, Any]) -> str:
    trigger = body.get("trigger_id")
    return f"connection-{trigger}"[:255] if isinstance(trigger, str) else ""


def _add_clicked(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    tr = reader_of(deps, body)
    try:
        check(actor_of(deps, body), Action.CONNECTIONS, deps.policy)
        _sealer(deps)
        view = render_add_modal(certificates=certificate_files(deps.certificate_dir, team_of(body)), tr=tr)
    except OfferbotError as exc:
        view = render_text_modal(":warning: " + error_text(exc, tr), title=tr._("Add a connection"), tr=tr)
    _open(client, body, view)


def _values(body: dict[str, Any]) -> dict[str, str]:
    """The form's values by block id, as strings ("" when empty or not ours)."""
    state = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    out: dict[str, str] = {}
    for block in FIELDS:
        element = (state.get(block) or {}).get(block) or {}
        value = element.get("value")
        if value is None:
            value = (element.get("selected_option") or {}).get("value")
        out[block] = value[:4096] if isinstance(value, str) else ""
    return out


def _input_of(deps: Deps, body: dict[str, Any]) -> ConnectionInput:
    values, credential = _values(body), _credential_of(deps, body)
    return ConnectionInput(
        team_id=team_of(body),
        name=values["name"].strip(),
        tenant_id=values["tenant"],
        client_id=values["client"],
        publisher_id=values["publisher"],
        cloud_partner_publishers=values["portal"],
        secret=credential.secret,
        certificate=credential.certificate,
        certificate_password=credential.certificate_password,
    )


def _field_of(deps: Deps, body: dict[str, Any], error: ConnectionInputError) -> str:
    """The form's block that shows the error (the certificate's, or the secret's when it has none)."""
    field = error.field if error.field in FIELDS else "secret"
    if field in ("certificate", "password") and not certificate_files(deps.certificate_dir, team_of(body)):
        return "secret"
    return field


def _refuse_form(
    deps: Deps, ack: Ack, body: dict[str, Any], error: OfferbotError, tr: Translator, *, other: str
) -> None:
    """The form stays open with the error under its field (``other``: an error of no field's)."""
    field = _field_of(deps, body, error) if isinstance(error, ConnectionInputError) else other
    ack(response_action="errors", errors={field: error_text(error, tr)[:2000]})


def _add_submitted(deps: Deps, ack: Ack, body: dict[str, Any]) -> None:
    tr = reader_of(deps, body)
    try:
        actor = actor_of(deps, body)
        check(actor, Action.CONNECTIONS, deps.policy)  # before a file is read for whoever asks
        data = _input_of(deps, body)
        item = _in_time(
            deps,
            lambda expired: add_connection(
                deps.session_factory,
                actor=actor,
                data=data,
                sealer=_sealer(deps),
                now=deps.clock(),
                expired=expired,
            ),
        )
    except OfferbotError as exc:
        _refuse_form(deps, ack, body, exc, tr, other="name")
        return
    log.info("home: %s added connection %s", user_of(body), item.name)
    view = render_text_modal(render_added(item, tr=tr), title=tr._("Add a connection"), tr=tr)
    ack(response_action="update", view=view)


def _republish(deps: Deps, body: dict[str, Any], client: WebClient) -> None:
    try:
        team, user = team_of(body), user_of(body)
    except OfferbotError:
        return
    if user:
        publish_home(deps, client, team=team, user=user)


def _menu_choice(action: dict[str, Any]) -> tuple[str, str]:
    value = (action.get("selected_option") or {}).get("value")
    if not isinstance(value, str) or len(value) > 60:
        return "", ""
    for prefix in (TEST_PREFIX, REPLACE_PREFIX, REMOVE_PREFIX):
        if value.startswith(prefix):
            return prefix, value[len(prefix) :]
    return "", ""


def _menu_ack(deps: Deps, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
    """*Test*: a waiting modal (the test runs in the lazy listener); *Remove…*: its confirmation."""
    ack()
    tr = reader_of(deps, body)
    what, name = _menu_choice(action)
    try:
        check(actor_of(deps, body), Action.CONNECTIONS, deps.policy)
    except OfferbotError as exc:
        _open(client, body, render_text_modal(":warning: " + error_text(exc, tr), title=name, tr=tr))
        return
    if what == REMOVE_PREFIX:
        _open(client, body, render_remove_modal(name, tr=tr))
    elif what == REPLACE_PREFIX:
        certificates = certificate_files(deps.certificate_dir, team_of(body))
        _open(client, body, render_replace_modal(name, certificates=certificates, tr=tr))
    elif what == TEST_PREFIX:
        _open(client, body, {**render_testing_modal(name, tr=tr), "external_id": _external_id(body)})


def _menu_lazy(deps: Deps, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
    what, name = _menu_choice(action)
    if what != TEST_PREFIX or not _external_id(body):
        return  # no modal to show the test in
    tr = reader_of(deps, body)
    try:
        if deps.settings is None:
            raise UsageError(NO_KEY)
        result = check_connection(
            deps.session_factory,
            actor=actor_of(deps, body),
            team_id=team_of(body),
            name=name,
            settings=deps.settings,
            sealer=_sealer(deps),
        )
        view = render_test(result, tr=tr)
    except OfferbotError as exc:
        view = render_text_modal(":warning: " + error_text(exc, tr), title=tr._("Test a connection"), tr=tr)
    try:
        client.views_update(view=view, external_id=_external_id(body))
    except CALL_ERRORS as exc:
        log.warning("could not show the connection test: %s", classify(exc).code)


def _credential_of(deps: Deps, body: dict[str, Any]) -> NewCredential:
    values, team = _values(body), team_of(body)
    name = values["certificate"]
    return NewCredential(
        secret=SecretStr(values["secret"]) if values["secret"].strip() else None,
        certificate=certificate_from_dir(deps.certificate_dir, team, name) if name else None,
        certificate_password=SecretStr(values["password"]) if values["password"] else None,
    )


def _replace_submitted(deps: Deps, ack: Ack, body: dict[str, Any]) -> None:
    tr = reader_of(deps, body)
    name = str((body.get("view") or {}).get("private_metadata") or "")[:40]
    try:
        actor, team = actor_of(deps, body), team_of(body)
        check(actor, Action.CONNECTIONS, deps.policy)  # before a file is read for whoever asks
        credential = _credential_of(deps, body)
        item = _in_time(
            deps,
            lambda expired: replace_credential(
                deps.session_factory,
                actor=actor,
                team_id=team,
                name=name,
                credential=credential,
                sealer=_sealer(deps),
                now=deps.clock(),
                expired=expired,
            ),
        )
    except OfferbotError as exc:
        _refuse_form(deps, ack, body, exc, tr, other="secret")
        return
    log.info("home: %s replaced the credential of connection %s", user_of(body), item.name)
    title = tr._("Replace the credential")
    ack(response_action="update", view=render_text_modal(render_replaced(item, tr=tr), title=title, tr=tr))


def _remove_submitted(deps: Deps, ack: Ack, body: dict[str, Any]) -> None:
    tr = reader_of(deps, body)
    name = str((body.get("view") or {}).get("private_metadata") or "")[:40]
    title = tr._("Remove a connection")
    try:
        actor, team = actor_of(deps, body), team_of(body)
        offers = _in_time(
            deps,
            lambda expired: remove_connection(
                deps.session_factory, actor=actor, team_id=team, name=name, now=deps.clock(), expired=expired
            ),
        )
        text = render_removed(name, offers, tr=tr)
        log.info("home: %s removed connection %s (%d offers)", user_of(body), name, offers)
    except OfferbotError as exc:
        text = ":warning: " + error_text(exc, tr)
    ack(response_action="update", view=render_text_modal(text, title=title, tr=tr))


def register(app: App, deps: Deps) -> None:
    app.action(ADD_ACTION)(functools.partial(_add_clicked, deps))
    app.view(ADD_CALLBACK)(
        ack=functools.partial(_add_submitted, deps), lazy=[functools.partial(_republish, deps)]
    )
    app.action(MENU_ACTION)(
        ack=functools.partial(_menu_ack, deps), lazy=[functools.partial(_menu_lazy, deps)]
    )
    app.view(REPLACE_CALLBACK)(
        ack=functools.partial(_replace_submitted, deps), lazy=[functools.partial(_republish, deps)]
    )
    app.view(REMOVE_CALLBACK)(
        ack=functools.partial(_remove_submitted, deps), lazy=[functools.partial(_republish, deps)]
    )
