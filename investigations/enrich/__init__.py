"""Enrichment clients: Threat Vault, WildFire, VirusTotal, NVD and JVN, and their errors."""

from investigations.enrich.cache import EnrichmentCache
from investigations.enrich.clients import EnrichmentClients
from investigations.enrich.errors import (
    AuthFailed,
    EnrichmentError,
    InvalidQuery,
    MalformedResponse,
    QuotaExceeded,
    SourceUnavailable,
)
from investigations.enrich.jvn import Jvn, JvnCvss, JvnEntry
from investigations.enrich.limits import RateLimiter, Window
from investigations.enrich.nvd import ATTRIBUTION, CveRecord, Cvss, Kev, Nvd, Reference
from investigations.enrich.threatvault import FileInfo, ThreatSignature, ThreatVault
from investigations.enrich.virustotal import AnalysisStats, EngineResult, FileReport, VirusTotal
from investigations.enrich.wildfire import (
    Connection,
    DnsQuery,
    HttpRequest,
    Report,
    Verdict,
    VerdictCode,
    WildFire,
)

__all__ = [
    "ATTRIBUTION",
    "AnalysisStats",
    "AuthFailed",
    "Connection",
    "CveRecord",
    "Cvss",
    "DnsQuery",
    "EngineResult",
    "EnrichmentCache",
    "EnrichmentClients",
    "EnrichmentError",
    "FileInfo",
    "FileReport",
    "HttpRequest",
    "InvalidQuery",
    "Jvn",
    "JvnCvss",
    "JvnEntry",
    "Kev",
    "MalformedResponse",
    "Nvd",
    "QuotaExceeded",
    "RateLimiter",
    "Reference",
    "Report",
    "SourceUnavailable",
    "ThreatSignature",
    "ThreatVault",
    "Verdict",
    "VerdictCode",
    "VirusTotal",
    "WildFire",
    "Window",
]
