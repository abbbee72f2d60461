"""One settings object, read from ``HAILONG_*`` variables only when asked (never at import)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Mapping

REPO_ROOT = Path(__file__).resolve().parent.parent


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.replace(",", " ").split() if v.strip())


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    # Where the server is reached from browsers; used for links and the widget's iframe origin.
    public_url: str = ""
    data_dir: Path = REPO_ROOT / "var"
    database_url: str = ""
    redis_url: str = ""
    redis_prefix: str = "hailong:"
    secret_key: str = ""
    flows_dir: Path = REPO_ROOT / "survey_flows"
    dialogues_dir: Path = REPO_ROOT / "dialogues"
    nlu_dir: Path = REPO_ROOT / "nlu_data"
    units_dir: Path = REPO_ROOT / "data" / "units"
    # Sites allowed to embed the web chat (CSP frame-ancestors and WebSocket Origin check).
    embed_origins: tuple[str, ...] = ()
    session_ttl_seconds: int = 30 * 24 * 3600
    max_text_length: int = 2000
    max_failed_attempts: int = 3
    log_level: str = "INFO"
    # Chat platforms: a channel without its credentials is off.
    zalo_app_id: str = ""
    zalo_app_secret: str = ""
    zalo_oa_secret_key: str = ""
    zalo_access_token: str = ""
    zalo_refresh_token: str = ""
    zalo_oa_id: str = ""
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_oauth_base: str = "https://oauth.zaloapp.com"
    messenger_app_secret: str = ""
    messenger_verify_token: str = ""
    messenger_page_token: str = ""
    messenger_page: str = ""
    messenger_api_base: str = "https://graph.facebook.com"
    messenger_api_version: str = "v21.0"
    telegram_token: str = ""
    telegram_secret: str = ""
    telegram_bot_username: str = ""
    telegram_api_base: str = "https://api.telegram.org"
    # Outbound sending: attempts before a message is marked failed, and the first backoff.
    send_max_attempts: int = 8
    send_backoff_seconds: float = 2.0
    # per-user pacing (Telegram: about 1 message/s per chat); off only against fake platforms
    send_user_pacing: bool = True
    # Free-text understanding: builtin (default), or rasa (intents from a Rasa server, `make rasa-serve`)
    nlu_backend: str = "builtin"
    rasa_url: str = "http://127.0.0.1:5005"
    # encryption key for personal identifiers kept at rest (32 bytes, base64); derived from secret_key if unset
    data_key: str = ""
    # set by `hailong run --workers N` for its processes: they share the port
    reuse_port: bool = False
    # /metrics for callers other than loopback (a Prometheus server on another host)
    metrics_token: str = ""
    # load shedding (bot/overload.py): web chat requests run at most shed_max_inflight at once and
    # get 503 after waiting shed_max_wait seconds to start; webhooks get 503 while recorded events
    # wait over shed_inbox_delay seconds to be handled (0 turns a bound off)
    shed_max_inflight: int = 64
    shed_max_wait: float = 0.5
    shed_inbox_delay: float = 3.0
    # admin API: how long a password login lasts
    admin_session_hours: int = 12
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        env = os.environ if env is None else env
        kw: dict[str, object] = {}
        for f in fields(cls):
            name = "HAILONG_" + f.name.upper()
            if name not in env or f.name == "extra":
                continue
            raw = env[name]
            if f.type in ("int",):
                kw[f.name] = int(raw)
            elif f.type in ("float",):
                kw[f.name] = float(raw)
            elif f.type in ("bool",):
                kw[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif f.type in ("Path",):
                kw[f.name] = Path(raw)
            elif f.name == "embed_origins":
                kw[f.name] = _split(raw)
            else:
                kw[f.name] = raw
        kw["extra"] = {k: v for k, v in env.items() if k.startswith("HAILONG_")}
        kw.update(overrides)
        return cls(**kw)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'hailong.sqlite3'}"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id and self.zalo_oa_secret_key and (self.zalo_access_token or self.zalo_refresh_token))

    @property
    def messenger_enabled(self) -> bool:
        return bool(self.messenger_app_secret and self.messenger_page_token)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token and self.telegram_secret)

    def effective_secret_key(self) -> str:
        """The signing key; on a bare machine one is generated once and kept in the data dir,
        so session tokens survive a restart without any set-up."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(key)
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic: the first process to create it wins
        except FileExistsError:
            pass
        tmp.unlink(missing_ok=True)
        return path.read_text().strip()
