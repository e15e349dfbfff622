"""Callbacks: outbox events built with the decision, signed, sent, retried, dead-lettered."""
