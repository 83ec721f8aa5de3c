"""Firewall client, detection rules, playbooks and enrichment: no Slack, no SQL."""
