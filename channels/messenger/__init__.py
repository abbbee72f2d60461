"""Facebook Messenger adapter: webhook checks, webhook parsing, rendering and the Send API client.

What the integrator wires together (this package holds no conversation logic and no routes):

- ``verify_subscription(query, verify_token)``: answer Meta's GET handshake (challenge or 403);
- ``verify(headers, raw_body, app_secret)``: check ``X-Hub-Signature-256`` before anything else;
- ``parse_webhook(raw_body)``: every respondent action in a POST as ``Inbound`` messages, in order;
- ``render(outbound)``: Send API ``message`` objects within ``CAPABILITIES``;
- ``MessengerClient.send(psid, message)``: one Send API call, answered as a ``SendResult``.
"""
from channels.messenger.client import DEFAULT_API_VERSION, DEFAULT_GRAPH_URL, MessengerClient
from channels.messenger.parse import CHANNEL, DEFAULT_START_PAYLOADS, MessengerParseError, parse_webhook
from channels.messenger.render import CAPABILITIES, render
from channels.messenger.signature import SIGNATURE_HEADER, sign, verify, verify_subscription

__all__ = [
    "CAPABILITIES",
    "CHANNEL",
    "DEFAULT_API_VERSION",
    "DEFAULT_GRAPH_URL",
    "DEFAULT_START_PAYLOADS",
    "MessengerClient",
    "MessengerParseError",
    "SIGNATURE_HEADER",
    "parse_webhook",
    "render",
    "sign",
    "verify",
    "verify_subscription",
]
