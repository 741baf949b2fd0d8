"""What a person or a job does, as typed use-cases: typed inputs, typed results, no Slack and no
wording. Listeners and the shell parse into their inputs and render their results."""
