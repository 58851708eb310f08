"""videorecog: Kafka upload events in, shots and covers out; plus an engine serving the API."""

__version__ = "0.1.0"
