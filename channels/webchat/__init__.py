"""The web chat: HTTP JSON and WebSocket API, the embeddable widget and its iframe page."""
from .routes import setup_webchat

__all__ = ["setup_webchat"]
