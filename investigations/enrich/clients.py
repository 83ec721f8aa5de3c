"""The five enrichment clients, built once from plain settings and closed together."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

import httpx

from investigations.enrich._service import Options
from investigations.enrich.cache import EnrichmentCache
from investigations.enrich.jvn import Jvn
from investigations.enrich.limits import RateLimiter, virustotal_windows
from investigations.enrich.nvd import Nvd
from investigations.enrich.threatvault import ThreatVault
from investigations.enrich.virustotal import VirusTotal
from investigations.enrich.wildfire import WildFire


@dataclass
class EnrichmentClients:
    """One client per source; None where the source is off (no API key)."""

    threatvault: ThreatVault | None
    wildfire: WildFire | None
    virustotal: VirusTotal | None
    nvd: Nvd | None
    jvn: Jvn | None

    @classmethod
    def from_settings(
        cls,
        *,
        threatvault_url: str,
        threatvault_api_key: str | None,
        wildfire_url: str,
        wildfire_api_key: str | None,
        virustotal_url: str,
        virustotal_api_key: str | None,
        nvd_url: str,
        nvd_api_key: str | None,
        jvn_url: str,
        virustotal_per_minute: int = 4,
        virustotal_per_day: int | None = 500,
        cache: EnrichmentCache | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> EnrichmentClients:
        """Build the clients; no key turns a source off, except NVD and JVN, which need none."""
        vt_limiter = RateLimiter(
            "virustotal", virustotal_windows(virustotal_per_minute, virustotal_per_day)
        )
        # What every client takes from the settings; VirusTotal adds its configured limiter.
        shared: Options = {"cache": cache, "timeout": timeout, "transport": transport}
        tv_key, wf_key, vt_key = threatvault_api_key, wildfire_api_key, virustotal_api_key
        return cls(
            threatvault=ThreatVault(threatvault_url, tv_key, **shared) if tv_key else None,
            wildfire=WildFire(wildfire_url, wf_key, **shared) if wf_key else None,
            virustotal=(
                VirusTotal(virustotal_url, vt_key, **shared | {"limiter": vt_limiter})
                if vt_key
                else None
            ),
            nvd=Nvd(nvd_url, nvd_api_key or None, **shared),
            jvn=Jvn(jvn_url, **shared),
        )

    def close(self) -> None:
        """Close every client's connection pool."""
        for client in (self.threatvault, self.wildfire, self.virustotal, self.nvd, self.jvn):
            if client is not None:
                client.close()

    def __enter__(self) -> EnrichmentClients:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
