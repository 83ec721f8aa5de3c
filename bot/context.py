"""What Slack listeners and jobs share: built by the composition root, passed down."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.clock import Clock
from bot.config import Settings
from bot.i18n import Catalog
from bot.notifier import Notifier
from bot.poller import Poller
from investigations.enrich.clients import EnrichmentClients
from investigations.panos.client import PanosClient
from storage import Database

if TYPE_CHECKING:  # bot.investigator imports bot.slack, which imports this module
    from bot.investigator import Investigator


@dataclass(frozen=True)
class BotContext:
    """The services a listener may use; nothing else is reachable from a listener."""

    settings: Settings
    db: Database
    catalog: Catalog
    panos: PanosClient
    slack: WebClient
    clock: Clock
    executor: ThreadPoolExecutor
    poller: Poller
    notifier: Notifier
    wake_notifier: Callable[[], None]
    investigator: Investigator | None = None
    enrichment: EnrichmentClients | None = None
