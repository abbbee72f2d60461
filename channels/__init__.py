"""Channel adapters: each turns one platform's traffic into the core's ``Inbound`` messages and the
core's ``Outbound`` replies back into what the platform shows. None of them holds conversation logic."""
