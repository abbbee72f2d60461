"""Invitees' personal data at rest: names, chat ids, phones and e-mails are sealed (AES-GCM, bound
to the invitee's id, bot/sealing.py), so a database dump or a backup does not hand out a
province's list of citizens. Finding the same person twice in a list needs equality, which
ciphertext with a random nonce cannot give: a keyed HMAC of each identity ("telegram:5123…",
"phone:0912…") is stored beside it. Keyed, so the hashes of the 10^9 possible phone numbers cannot
be precomputed by someone holding only the database.

Rows written before sealing existed hold clear text and no hashes: they read as they are
(``Sealer.open``) and their identities are hashed when read (``identity_digests``).
"""
from __future__ import annotations

import hashlib
import hmac
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ..sealing import Sealer
from .lists import ListRow, identities

if TYPE_CHECKING:
    from ..services import Services

SEALED = ("name", "address", "phone", "email")
# identity kind (the prefix ``identities`` gives) → the column holding its digest
DIGEST_COLUMNS = {"phone": "phone_digest", "email": "email_digest"}
CHAT_DIGEST = "address_digest"


@dataclass(frozen=True)
class InviteeVault:
    sealer: Sealer
    lookup_key: bytes

    @classmethod
    def of(cls, sealer: Sealer, secret_key: str) -> "InviteeVault":
        """The lookup key is derived from the server's secret, apart from the sealing key."""
        return cls(sealer, hashlib.sha256(b"hailong invitee lookup\x00" + secret_key.encode()).digest())

    def digest(self, identity: str) -> str:
        return hmac.new(self.lookup_key, identity.encode(), hashlib.sha256).hexdigest()

    def sealed_row(self, invitee_id: str, row: ListRow) -> dict[str, Any]:
        """The personal columns of a new invitee row: sealed values and identity digests."""
        out: dict[str, Any] = {f: self._seal(getattr(row, f), invitee_id) for f in SEALED}
        out.update({CHAT_DIGEST: None, **{c: None for c in DIGEST_COLUMNS.values()}})
        for identity in identities(row):
            out[DIGEST_COLUMNS.get(identity.split(":", 1)[0], CHAT_DIGEST)] = self.digest(identity)
        return out

    def opened(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A row (needs ``id``) with its personal columns in clear."""
        out = dict(row)
        for f in SEALED:
            if out.get(f) is not None:
                out[f] = self.sealer.open(out[f], out["id"])
        return out

    def open(self, stored: str | None, invitee_id: str) -> str | None:
        return None if stored is None else self.sealer.open(stored, invitee_id)

    def identity_digests(self, row: Mapping[str, Any]) -> list[str]:
        """The digests of a stored row; a clear-text row from before sealing is hashed here."""
        stored = [row[c] for c in (CHAT_DIGEST, *DIGEST_COLUMNS.values()) if row.get(c)]
        if stored:
            return stored
        person = ListRow(0, "", "", row.get("channel"), self.open(row.get("address"), row["id"]),
                         self.open(row.get("phone"), row["id"]), self.open(row.get("email"), row["id"]))
        return [self.digest(i) for i in identities(person)]

    def _seal(self, value: str | None, invitee_id: str) -> str | None:
        return None if value is None else self.sealer.seal(value, invitee_id)


_VAULTS: "weakref.WeakKeyDictionary[Sealer, InviteeVault]" = weakref.WeakKeyDictionary()


def vault(services: "Services") -> InviteeVault:
    """The services' vault, built once per sealer (the secret may be read from a file)."""
    found = _VAULTS.get(services.sealer)
    if found is None:
        found = _VAULTS[services.sealer] = InviteeVault.of(services.sealer, services.settings.effective_secret_key())
    return found
