"""The console: server-rendered pages for officials, unit administrators and analysts (Q&A inbox,
results and exports, accounts, audit log), mounted under /console by ``setup_console``."""
from .setup import setup_console

__all__ = ["setup_console"]
