"""The PAN-OS XML API: client, log parsing, typed events."""
