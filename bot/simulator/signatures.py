"""The threat signatures the simulator's scenarios use, as `show threat id` reports them.

Ids and names come from the fake intel dataset, so Threat Vault and the firewall agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.fakeintel import dataset as intel


@dataclass(frozen=True, slots=True)
class Signature:
    """One threat signature: id, name and what the firewall's content knows about it."""

    tid: str
    name: str
    subtype: str  # vulnerability, virus, spyware, wildfire
    category: str  # PAN-OS thr_category
    severity: str
    default_action: str
    cves: tuple[str, ...] = ()
    vendor_ids: tuple[str, ...] = ()
    description: str = ""

    @property
    def threatid(self) -> str:
        """Return the log's <threatid> text: "Name(id)"."""
        return f"{self.name}({self.tid})"


IE_MEMORY_CORRUPTION = Signature(
    tid=intel.IE_SIGNATURE_ID,
    name=intel.IE_SIGNATURE_NAME,
    subtype="vulnerability",
    category="code-execution",
    severity="critical",
    default_action="alert",
    cves=(intel.IE_CVE,),
    vendor_ids=("MS15-009",),
    description=(
        "A memory corruption vulnerability exists in Microsoft Internet Explorer. A remote "
        "attacker can execute arbitrary code when the victim visits a crafted web page."
    ),
)
MAIL_VIRUS = Signature(
    tid=intel.ANTIVIRUS_SIGNATURE_ID,
    name=intel.ANTIVIRUS_SIGNATURE_NAME,
    subtype="virus",
    category="virus",
    severity="medium",
    default_action="reset-both",
    description="Antivirus signature for a generic Windows trojan delivered as a mail attachment.",
)
WIRELURKER_C2 = Signature(
    tid=intel.WIRELURKER_SIGNATURE_ID,
    name=intel.WIRELURKER_SIGNATURE_NAME,
    subtype="spyware",
    category="command-and-control",
    severity="critical",
    default_action="reset-both",
    description=(
        "This signature detects command-and-control traffic of the WireLurker malware, which "
        "infects OS X hosts and the iOS devices connected to them."
    ),
)
WILDFIRE_SCRIPT = Signature(
    tid="52260",
    name="Windows JScript File",
    subtype="wildfire",
    category="malicious",
    severity="high",
    default_action="alert",
)
LOG4J_RCE = Signature(
    tid="91991",
    name="Apache Log4j Remote Code Execution Vulnerability",
    subtype="vulnerability",
    category="code-execution",
    severity="critical",
    default_action="reset-both",
    cves=("CVE-2021-44228",),
    description="Remote code execution through JNDI lookups in Apache Log4j 2.",
)
DIRECTORY_TRAVERSAL = Signature(
    tid="30844",
    name="HTTP Directory Traversal Vulnerability",
    subtype="vulnerability",
    category="info-leak",
    severity="high",
    default_action="reset-both",
    description="An attempt to read files outside the web root with ../ sequences.",
)
SMTP_VIRUS = Signature(
    tid="219723999",
    name="Virus/Win32.WGeneric.cqvnpt",
    subtype="virus",
    category="virus",
    severity="medium",
    default_action="reset-both",
)
SUSPICIOUS_DNS = Signature(
    tid="109010001",
    name=f"Suspicious DNS Query (generic:{intel.WILDFIRE_DNS_QUERY})",
    subtype="spyware",
    category="dns-c2",
    severity="medium",
    default_action="sinkhole",
)

SIGNATURES: dict[str, Signature] = {
    s.tid: s
    for s in (
        IE_MEMORY_CORRUPTION,
        MAIL_VIRUS,
        WIRELURKER_C2,
        WILDFIRE_SCRIPT,
        LOG4J_RCE,
        DIRECTORY_TRAVERSAL,
        SMTP_VIRUS,
        SUSPICIOUS_DNS,
    )
}
