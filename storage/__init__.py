"""offerbot's store: models, queries, migrations and import. Nothing here knows about Slack."""
