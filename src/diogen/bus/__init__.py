"""The event bus: the embedded log (default) or Kafka, behind one small interface."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from diogen.bus.base import Bus, Consumer, Message, Record, partition_for
from diogen.config import Settings
from diogen.errors import ConfigError


def _utcnow() -> datetime:
    return datetime.now(UTC)


def make_bus(settings: Settings, engine: Engine, *, clock: Callable[[], datetime] = _utcnow) -> Bus:
    """The configured bus; the embedded one lives in `engine`'s database."""
    if settings.bus == "kafka":
        if not settings.kafka_bootstrap_servers:
            raise ConfigError("bus = 'kafka' needs kafka_bootstrap_servers (host:port,...)")
        from diogen.bus.kafka import KafkaBus

        return KafkaBus(
            settings.kafka_bootstrap_servers,
            partitions=settings.bus_partitions,
            retention_hours=settings.bus_retention_hours,
        )
    from diogen.bus.embedded import EmbeddedBus

    return EmbeddedBus(engine, partitions=settings.bus_partitions, clock=clock)


__all__ = ["Bus", "Consumer", "Message", "Record", "make_bus", "partition_for"]
