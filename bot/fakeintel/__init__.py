"""A fake of the five intel services, for `panbot demo` and the tests."""

from bot.fakeintel.records import Network
from bot.fakeintel.server import DEFAULT_API_KEY, ClientSettings, FakeIntel, RecordedRequest

__all__ = ["DEFAULT_API_KEY", "ClientSettings", "FakeIntel", "Network", "RecordedRequest"]
