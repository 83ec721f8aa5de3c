"""The five investigations of the guide, one module per flow, and bare-value lookups.

A playbook is a function from an alert's facts and the outside sources to a `Finding`:
no Slack, no SQL. `run_playbook` picks the one of the alert's rule.
"""

from investigations.playbooks.model import AlertFacts, EarlierAlert, HostContext, Tools
from investigations.playbooks.run import PLAYBOOKS, RECHECKED_RULES, finding_cves, run_playbook

__all__ = [
    "PLAYBOOKS",
    "RECHECKED_RULES",
    "AlertFacts",
    "EarlierAlert",
    "HostContext",
    "Tools",
    "finding_cves",
    "run_playbook",
]
