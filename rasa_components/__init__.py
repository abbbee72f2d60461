"""Rasa-side code of Hailong: imported only by Rasa in .venv-rasa (Python 3.10), never by the app.

Rasa finds it through PYTHONPATH=<repo root> (set by the Makefile and scripts/rasa_serve)."""
