"""The demo dataset: what the intel services say about the guide's five scenarios.

The ids and hashes are module constants so the PAN-OS simulator's scenarios can
name the same signatures and files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.fakeintel.server import FakeIntel

# 1. Vulnerability: an Internet Explorer memory corruption (the guide's CVE-2015-0036).
IE_SIGNATURE_ID = "37183"
IE_SIGNATURE_NAME = "Microsoft Internet Explorer Memory Corruption Vulnerability"
IE_CVE = "CVE-2015-0036"
IE_JVN_ID = "JVNDB-2015-001317"

# 2. Virus in mail: the guide's Threat Vault id, a file 20 of 59 engines detect.
ANTIVIRUS_SIGNATURE_ID = "219723564"
ANTIVIRUS_SIGNATURE_NAME = "Virus/Win32.WGeneric.dxtzpq"
ANTIVIRUS_FILE_SHA256 = "274a216b05961ec2aab7dbffec33107f1d2d0a9845f1d6eea2c95bb12efa7c93"
ANTIVIRUS_FILE_MD5 = "d70d742c946876f345c3a45447846fbd"
ANTIVIRUS_FILE_NAME = "invoice_0412.doc"
ANTIVIRUS_DETECTED = 20
ANTIVIRUS_ENGINES = {
    "Kaspersky": "HEUR:Trojan.MSOffice.SAgent.gen",
    "ESET-NOD32": "VBA/TrojanDownloader.Agent.ZBN",
    "TrendMicro": "TROJ_FRS.0NA103DC24",
    "Sophos": "Troj/DocDl-AKVK",
}

# 3. WildFire: a malicious script sent by mail, 42 of 59 engines, with network activity.
WILDFIRE_FILE_SHA256 = "ccf25e6dc0e9ba7d0f9afeb0182b5e30a83172b2086a1c88381a45e408b64f76"
WILDFIRE_FILE_MD5 = "d0d64a49c4886220d2b41701cf7a2be5"
WILDFIRE_FILE_NAME = "shipping-label.js"
WILDFIRE_DETECTED = 42
WILDFIRE_ENGINES = {
    "Microsoft": "Trojan:JS/Nemucod.RC!MTB",
    "Kaspersky": "HEUR:Trojan-Downloader.Script.Generic",
    "Symantec": "JS.Downloader",
    "TrendMicro": "JS_NEMUCOD.SMB4",
}
WILDFIRE_DNS_QUERY = "update.shipping-notice.example"
WILDFIRE_URL = "http://update.shipping-notice.example/gate.php"
WILDFIRE_C2_IP = "198.51.100.23"
WILDFIRE_C2_PORT = 443

# 4. Spyware: command-and-control traffic of the WireLurker malware.
WIRELURKER_SIGNATURE_ID = "14978"
WIRELURKER_SIGNATURE_NAME = "WireLurker Command and Control Traffic"

# The zero-day case: WildFire calls it malware, VirusTotal has never seen it.
ZERO_DAY_SHA256 = "871972a74be5f24d1e13f569af1f713139397284dc5e5287e382d457c86fd552"
ZERO_DAY_MD5 = "f41dea1ef7c1a2cfd5fbae6ff9ddba0a"
ZERO_DAY_C2_IP = "203.0.113.77"

ENGINES_TOTAL = 59


def seed(intel: FakeIntel) -> None:
    """Load the demo dataset into a FakeIntel."""
    intel.add_signature(
        IE_SIGNATURE_ID,
        IE_SIGNATURE_NAME,
        kind="vulnerability",
        category="code-execution",
        severity="critical",
        description=(
            "Microsoft Internet Explorer is prone to a memory corruption vulnerability while"
            " processing crafted web content. A successful attack could lead to remote code"
            " execution with the privileges of the current user."
        ),
        cves=[IE_CVE],
        vendor_ids=["MS15-009"],
        references=[
            "https://learn.microsoft.com/en-us/security-updates/securitybulletins/2015/ms15-009"
        ],
        default_action="reset-both",
    )
    intel.add_cve(
        IE_CVE,
        "Microsoft Internet Explorer 9 through 11 allows remote attackers to execute arbitrary"
        " code or cause a denial of service (memory corruption) via a crafted web site, aka"
        ' "Internet Explorer Memory Corruption Vulnerability."',
        score=9.3,
        severity="HIGH",
        vector="AV:N/AC:M/Au:N/C:C/I:C/A:C",
        version="2.0",
        references=[
            (
                "https://learn.microsoft.com/en-us/security-updates/securitybulletins/2015/ms15-009",
                ["Patch", "Vendor Advisory"],
            )
        ],
        cwe="CWE-119",
    )
    intel.add_jvn(
        IE_JVN_ID,
        [IE_CVE],
        "Microsoft Internet Explorer におけるメモリ破損の脆弱性",
        "Microsoft Internet Explorer には、メモリ破損の脆弱性が存在します。"
        "<ul><li>細工されたウェブサイトを閲覧することで、任意のコードを実行される可能性があります。</li></ul>",
        impact="第三者により、細工されたウェブサイトを介して、任意のコードを実行される、"
        "またはサービス運用妨害 (メモリ破損) 状態にされる可能性があります。",
        solution="[パッチを適用する] ベンダより正式な対策が公開されています。"
        "ベンダ情報 (MS15-009) を参照して適切な対策を実施してください。",
        score=9.3,
        severity="High",
        vector="AV:N/AC:M/Au:N/C:C/I:C/A:C",
        cvss_version="2.0",
    )

    intel.add_signature(
        ANTIVIRUS_SIGNATURE_ID,
        ANTIVIRUS_SIGNATURE_NAME,
        kind="antivirus",
        severity="medium",
        description=f"This signature detected {ANTIVIRUS_SIGNATURE_NAME}",
        related_sha256=[ANTIVIRUS_FILE_SHA256],
    )
    intel.add_file(
        ANTIVIRUS_FILE_SHA256,
        ANTIVIRUS_DETECTED,
        ENGINES_TOTAL,
        engines=ANTIVIRUS_ENGINES,
        name=ANTIVIRUS_FILE_NAME,
        file_type="MS Word Document",
        md5=ANTIVIRUS_FILE_MD5,
        signature_ids=[ANTIVIRUS_SIGNATURE_ID],
        family="WGeneric",
    )

    intel.add_file(
        WILDFIRE_FILE_SHA256,
        WILDFIRE_DETECTED,
        ENGINES_TOTAL,
        engines=WILDFIRE_ENGINES,
        wildfire_verdict=1,
        network={
            "dns": [f"{WILDFIRE_DNS_QUERY}={WILDFIRE_C2_IP}"],
            "urls": [WILDFIRE_URL],
            "tcp": [f"{WILDFIRE_C2_IP}:{WILDFIRE_C2_PORT}"],
        },
        name=WILDFIRE_FILE_NAME,
        file_type="JavaScript",
        size=6_812,
        md5=WILDFIRE_FILE_MD5,
        family="Nemucod",
    )

    intel.add_signature(
        WIRELURKER_SIGNATURE_ID,
        WIRELURKER_SIGNATURE_NAME,
        kind="spyware",
        category="spyware",
        severity="critical",
        description=(
            "This signature detects WireLurker command-and-control traffic. WireLurker is"
            " malware that infects Mac OS X hosts and spreads to iOS devices connected to them"
            " over USB; an infected host reports to its C2 server."
        ),
        default_action="reset-both",
    )

    intel.add_file(
        ZERO_DAY_SHA256,
        None,
        0,
        wildfire_verdict=1,
        network={
            "tcp": [f"{ZERO_DAY_C2_IP}:8443"],
            "dns": [f"relay.zero-day.example={ZERO_DAY_C2_IP}"],
        },
        name="setup_update.exe",
        md5=ZERO_DAY_MD5,
    )
