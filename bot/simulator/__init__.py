"""A PAN-OS XML API simulator: `panbot simulator`, `panbot demo` and the integration tests."""

from bot.simulator.api import DEFAULT_API_KEY, DEFAULT_PASSWORD, DEFAULT_USERNAME
from bot.simulator.filters import Filter, FilterSyntaxError, parse_filter
from bot.simulator.scenarios import SCENARIOS, UnknownScenarioError, load_scenario
from bot.simulator.server import SimulatorServer, serve
from bot.simulator.store import LogStore, Registration, StoreError, TagStore

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "SCENARIOS",
    "Filter",
    "FilterSyntaxError",
    "LogStore",
    "Registration",
    "SimulatorServer",
    "StoreError",
    "TagStore",
    "UnknownScenarioError",
    "load_scenario",
    "parse_filter",
    "serve",
]
