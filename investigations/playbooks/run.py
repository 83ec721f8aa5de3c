"""Pick the playbook of an alert's rule and run it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from investigations.enrich.clients import EnrichmentClients
from investigations.enrich.indicators import normalize_cve
from investigations.finding import Finding
from investigations.followup import LogSource
from investigations.network import Network
from investigations.playbooks import antivirus, correlation, spyware, vulnerability, wildfire
from investigations.playbooks.model import AlertFacts, Tools

Playbook = Callable[[AlertFacts, Tools], Finding]

PLAYBOOKS: dict[str, Playbook] = {
    vulnerability.NAME: vulnerability.run,
    antivirus.NAME: antivirus.run,
    wildfire.NAME: wildfire.run,
    spyware.NAME: spyware.run,
    correlation.NAME: correlation.run,
}
# Rules whose finding can be pending (WildFire still analysing) and so worth a re-check.
RECHECKED_RULES: tuple[str, ...] = (wildfire.NAME,)


def run_playbook(
    rule: str,
    alert: AlertFacts,
    clients: EnrichmentClients,
    panos: LogSource | None,
    *,
    av_engines: Sequence[str] = (),
    networks: Sequence[Network] = (),
    now: Callable[[], datetime] | None = None,
) -> Finding:
    """Run the investigation of `rule` on one alert; sources failing are listed, not raised."""
    try:
        playbook = PLAYBOOKS[rule]
    except KeyError:
        raise ValueError(f"no playbook for rule {rule!r}") from None
    extra = {"now": now} if now is not None else {}
    tools = Tools(
        clients=clients,
        panos=panos,
        av_engines=tuple(av_engines),
        networks=tuple(networks),
        **extra,
    )
    return playbook(alert, tools)


def finding_cves(finding: Finding) -> tuple[str, ...]:
    """Return the CVE ids a finding names (its `fact.cves`), validated."""
    found: list[str] = []
    for fact in finding.facts:
        if fact.label != "fact.cves":
            continue
        for part in fact.value.replace("\n", ",").split(","):
            try:
                found.append(normalize_cve(part))
            except ValueError:
                continue
    return tuple(dict.fromkeys(found))
