"""A bare Bolt app served like offerbot (waitress, HTTP mode): the baseline of ``benchmark.load``.

    python -m benchmark.bare --port 0 [--process-before-response]

Its only listener acks ``/offer-status`` with "ok"; it prints ``listening on PORT`` once it serves.
"""

from __future__ import annotations

import argparse
import logging

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress.server import create_server

SECRET = "bench-secret"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--process-before-response", action="store_true")
    parser.add_argument("--api-url", default="https://slack.com/api/", help="where auth.test goes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = App(
        client=WebClient(token="xoxb-bare", base_url=args.api_url),
        signing_secret=SECRET,
        token_verification_enabled=False,
        process_before_response=args.process_before_response,
    )
    app.command("/offer-status")(lambda ack: ack(text="ok"))
    handler = SlackRequestHandler(app)
    server = create_server(handler, host="127.0.0.1", port=args.port, threads=8)
    print(f"listening on {server.effective_port}", flush=True)  # type: ignore[union-attr]
    server.run()


if __name__ == "__main__":
    main()
