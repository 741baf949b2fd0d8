"""offerbot's Slack side: app factory, listeners, Block Kit rendering, the CLI."""
