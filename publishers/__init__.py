"""Registry of channel types: ``config.toml`` ``type = "<key>"`` -> publisher class.

Implementations are imported lazily so that a missing optional dependency of one channel never
stops the others.
"""

from __future__ import annotations

import importlib

from publishers.base import Publisher

# registry key -> "module:Class"
REGISTRY: dict[str, str] = {
    "static_site": "publishers.static_site:StaticSitePublisher",
    "wordpress": "publishers.wordpress:WordPressPublisher",
    "facebook": "publishers.facebook:FacebookPublisher",
    "zalo": "publishers.zalo:ZaloPublisher",
    "telegram": "publishers.telegram:TelegramPublisher",
    "mastodon": "publishers.mastodon:MastodonPublisher",
    "webhook": "publishers.webhook:WebhookPublisher",
    "loudspeaker": "publishers.loudspeaker:LoudspeakerPublisher",
}


def get(type_name: str) -> type[Publisher]:
    """The publisher class for a registry key; ``KeyError`` for an unknown one."""
    target = REGISTRY[type_name]
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def known_types() -> list[str]:
    return sorted(REGISTRY)
