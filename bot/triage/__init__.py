"""Triage from Slack: permissions, one step per button, isolation, reminders, watches, digest.

`steps.handle_press` answers a button; `steps.submit_*` answer the modals;
`jobs` runs the background side (firewall tags, reminders, watches, the digest).
Slack payloads are parsed in `payloads`; every database change goes through
`storage.triage`'s conditional updates.
"""
