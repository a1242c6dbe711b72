"""Persistence and domain rules. Imports neither aiohttp nor ``bot``/``handlers``."""
