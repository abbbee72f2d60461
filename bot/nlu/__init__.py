"""Language understanding: intents and answers from the official knowledge base.

``NluBackend`` is the seam; ``Understanding`` is what every backend returns.
"""
from .base import INTENTS, Candidate, NluBackend, Understanding

__all__ = ["INTENTS", "Candidate", "NluBackend", "Understanding"]
