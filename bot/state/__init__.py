"""Conversation state: a fast cache in front of the database, plus the per-respondent lock.

``StateStore`` is the seam; ``memory.MemoryStateStore`` is the embedded default and
``redis.RedisStateStore`` shares state and locks between processes. Losing either loses no answer:
the database holds every answer and the state of every open response.
"""
from .base import Slot, StateStore, open_state_store

__all__ = ["Slot", "StateStore", "open_state_store"]
