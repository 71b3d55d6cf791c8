"""Kafka through confluent-kafka: idempotent producer, consumer groups, manual commits.

Offsets are committed after the database transaction that applied the messages, so a crash
in between redelivers them; processors write idempotently. Topics are created on first use
with the configured partitions and retention.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer as _KafkaConsumer
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from diogen.bus.base import Message, Record
from diogen.errors import StorageError

log = logging.getLogger(__name__)
FLUSH_SECONDS = 30.0
ADMIN_SECONDS = 10.0


class KafkaBus:
    kind = "kafka"
    exclusive_groups = False

    def __init__(
        self, bootstrap_servers: str, *, partitions: int, retention_hours: float | None
    ) -> None:
        self.bootstrap = bootstrap_servers
        self.partitions = partitions
        self.retention_hours = retention_hours
        self._producer: Producer | None = None
        self._known_topics: set[str] = set()

    def publish(self, records: Sequence[Record]) -> None:
        if not records:
            return
        self.ensure_topics({r.topic for r in records})
        producer = self._producer_for_publish()
        failures: list[str] = []

        def delivered(error: KafkaError | None, _message: Any) -> None:
            if error is not None:
                failures.append(error.str())

        try:
            for r in records:
                producer.produce(r.topic, r.value.encode(), r.key.encode(), on_delivery=delivered)
                producer.poll(0)
            left = producer.flush(FLUSH_SECONDS)
        except (KafkaException, BufferError) as exc:
            raise StorageError(f"cannot publish to Kafka at {self.bootstrap}: {exc}") from exc
        if failures or left:
            reason = failures[0] if failures else f"{left} records not acknowledged in time"
            raise StorageError(f"cannot publish to Kafka at {self.bootstrap}: {reason}")

    def ensure_topics(self, topics: set[str]) -> None:
        """Create the topics this process has not seen yet; existing ones are left as they are."""
        missing = topics - self._known_topics
        if not missing:
            return
        config = {}
        if self.retention_hours is not None:
            config["retention.ms"] = str(int(self.retention_hours * 3_600_000))
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics(
            [NewTopic(t, num_partitions=self.partitions, config=config) for t in sorted(missing)],
            request_timeout=ADMIN_SECONDS,
        )
        for topic, future in futures.items():
            try:
                future.result(timeout=ADMIN_SECONDS)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise StorageError(f"cannot create Kafka topic {topic}: {exc}") from exc
            except Exception as exc:
                raise StorageError(f"cannot create Kafka topic {topic}: {exc}") from exc
            self._known_topics.add(topic)

    def _producer_for_publish(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    # Java clients' partitioner: keys land where other tools expect them.
                    "partitioner": "murmur2_random",
                }
            )
        return self._producer

    def consumer(self, group: str, topics: Sequence[str]) -> KafkaConsumer:
        self.ensure_topics(set(topics))
        return KafkaConsumer(self.bootstrap, group, topics)

    def lag(self, group: str, topics: Sequence[str]) -> dict[str, int]:
        self.ensure_topics(set(topics))
        client = _KafkaConsumer({"bootstrap.servers": self.bootstrap, "group.id": group})
        try:
            return {topic: _topic_lag(client, topic) for topic in topics}
        except KafkaException as exc:
            raise StorageError(f"cannot read the lag of {group} from Kafka: {exc}") from exc
        finally:
            client.close()

    def check(self, timeout: float) -> None:
        """A broker answers a metadata request."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        try:
            admin.list_topics(timeout=timeout)
        except KafkaException as exc:
            raise StorageError(f"Kafka at {self.bootstrap} does not answer: {exc}") from exc

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(FLUSH_SECONDS)
            self._producer = None


def _topic_lag(client: _KafkaConsumer, topic: str) -> int:
    metadata = client.list_topics(topic, timeout=ADMIN_SECONDS).topics[topic]
    wanted = [TopicPartition(topic, p) for p in metadata.partitions]
    committed = client.committed(wanted, timeout=ADMIN_SECONDS)
    total = 0
    for tp in committed:
        low, high = client.get_watermark_offsets(tp, timeout=ADMIN_SECONDS)
        done = tp.offset if tp.offset >= 0 else low
        total += max(high - done, 0)
    return total


class KafkaConsumer:
    def __init__(self, bootstrap: str, group: str, topics: Sequence[str]) -> None:
        self.group = group
        self._consumer = _KafkaConsumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # Co-partitioned topics: partition n of every topic goes to the same worker.
                "partition.assignment.strategy": "range",
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 1_000,
            }
        )
        self._consumer.subscribe(list(topics))

    def poll(self, max_messages: int, timeout: float) -> list[Message]:
        messages = []
        for m in self._consumer.consume(max_messages, timeout):
            error = m.error()
            if error is not None:
                if error.fatal():
                    raise StorageError(f"Kafka consumer failed: {error.str()}")
                log.warning("Kafka: %s", error.str())
                continue
            topic, partition, offset, key = m.topic(), m.partition(), m.offset(), m.key()
            # A message without an error always has its place.
            assert topic is not None and partition is not None and offset is not None
            text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
            messages.append(Message(topic, partition, offset, text, m.value() or b""))
        return messages

    def commit(self, messages: Sequence[Message]) -> None:
        upto: dict[tuple[str, int], int] = {}
        for m in messages:
            place = (m.topic, m.partition)
            upto[place] = max(upto.get(place, -1), m.offset)
        if not upto:
            return
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in upto.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # The partitions moved to another worker (rebalance): it reads them again from the
            # last commit, and the idempotent writes make that harmless.
            log.warning("Kafka: offsets not committed (%s); they will be delivered again", exc)

    def close(self) -> None:
        self._consumer.close()
