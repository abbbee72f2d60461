"""Officials' REST API and console (issue D): not built yet. The web chat API lives in channels.webchat."""
