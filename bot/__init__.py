"""panbot's Slack side, wiring and command line."""
