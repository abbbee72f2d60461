"""The unit catalogue (provinces, ministries) as dated data, and lookup by what people type.

Codes are stable across reorganisations: the 34 provinces from 2025-07-01 are ``p.<codename>``,
the 63 before are ``p63.<slug>`` with a successor link, ministries keep the codes in
``data/units/ministries.tsv``. Nothing in code names a province or a ministry.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from .text import expand, fold

REFORM_DATE = date(2025, 7, 1)
_PREFIXES = ("thanh pho ", "tinh ", "tp ", "bo ", "uy ban ")
# Everyday names that are not in the official lists.
_ALIASES = {"ho chi minh": ("hcm", "tphcm", "tp hcm", "sai gon", "sg", "hochiminh"), "ha noi": ("hn", "hanoi"),
            "da nang": ("dn",), "hai phong": ("hp",), "can tho": ("ct",)}


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str  # province | ministry | agency
    valid_from: date | None = None
    valid_to: date | None = None
    successors: tuple[str, ...] = ()
    names: tuple[str, ...] = field(default=(), compare=False)

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


def _strip_prefix(folded: str) -> str:
    for p in _PREFIXES:
        if folded.startswith(p):
            return folded[len(p):]
    return folded


def _names(*names: str) -> tuple[str, ...]:
    out: list[str] = []
    for n in names:
        f = fold(n)
        for form in (f, _strip_prefix(f), *(_ALIASES.get(_strip_prefix(f), ()))):
            if form and form not in out:
                out.append(form)
    return tuple(out)


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value.strip() else None


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


class UnitCatalogue:
    def __init__(self, units: list[Unit]) -> None:
        self.units = {u.code: u for u in units}

    @classmethod
    def load(cls, directory: Path) -> "UnitCatalogue":
        units: list[Unit] = []
        new_by_gso: dict[str, str] = {}
        p34 = directory / "provinces_34_from_2025-07-01.tsv"
        if p34.exists():
            for r in _rows(p34):
                code = f"p.{r['codename']}"
                new_by_gso[r["code"].zfill(2)] = code
                units.append(Unit(code, r["name"], "province", valid_from=REFORM_DATE, names=_names(r["name"])))
        p63 = directory / "provinces_63_until_2025-06-30.tsv"
        if p63.exists():
            for r in _rows(p63):
                slug = fold(r["short"]).replace(" ", "_")
                successor = new_by_gso.get(r["new_code"].zfill(2))
                units.append(Unit(f"p63.{slug}", r["old_name"], "province", valid_to=date(2025, 6, 30),
                                  successors=(successor,) if successor else (), names=_names(r["old_name"], r["short"])))
        ministries = directory / "ministries.tsv"
        if ministries.exists():
            for r in _rows(ministries):
                units.append(Unit(r["code"], r["name"], r.get("kind") or "ministry", valid_from=_date(r.get("valid_from", "")),
                                  valid_to=_date(r.get("valid_to", "")),
                                  successors=tuple(s for s in (r.get("successor_codes") or "").replace(",", " ").split() if s),
                                  names=_names(r["name"])))
        return cls(units)

    def name(self, code: str) -> str | None:
        unit = self.units.get(code)
        return unit.name if unit else None

    def current(self, code: str, on: date) -> list[str]:
        """The unit(s) that stand for ``code`` on ``on``, following successor links."""
        unit = self.units.get(code)
        if unit is None:
            return []
        if unit.valid_on(on) or not unit.successors:
            return [code]
        out: list[str] = []
        for s in unit.successors:
            out += [c for c in self.current(s, on) if c not in out]
        return out

    def today_code(self, code: str, on: date) -> str:
        """The unit a result recorded under ``code`` is reported for on ``on``: its successor after
        a merger (Hà Giang → Tuyên Quang), itself when still valid or unknown to the catalogue.
        A unit split between several successors is reported under the first one listed."""
        found = self.current(code, on)
        return found[0] if found else code

    def lineage(self, code: str) -> set[str]:
        """``code`` and every unit merged into it over time (Hà Tây → Hà Nội; the 63 provinces into
        the 34): an administrator of today's unit sees data recorded under its predecessors."""
        out = {code}
        changed = True
        while changed:
            changed = False
            for unit in self.units.values():
                if unit.code not in out and any(s in out for s in unit.successors):
                    out.add(unit.code)
                    changed = True
        return out

    def _kind_ok(self, unit: Unit, kinds: tuple[str, ...]) -> bool:
        return unit.kind in kinds or ("ministry" in kinds and unit.kind == "agency")

    def find(self, text: str, kinds: tuple[str, ...], on: date) -> list[tuple[str, str, float]]:
        if text in self.units and self._kind_ok(self.units[text], kinds):
            unit = self.units[text]
            code = self.current(unit.code, on)[0] if not unit.valid_on(on) else unit.code
            return [(code, self.units[code].name, 100.0)]
        query = _strip_prefix(expand(fold(text)))
        if not query:
            return []
        choices = self._index(kinds)
        hits = process.extract(query, choices, scorer=fuzz.ratio, limit=12, score_cutoff=75)
        best: dict[str, float] = {}
        for _name, score, (code, exact_form) in ((h[0], h[1], h[2]) for h in hits):
            unit = self.units[code]
            score = 100.0 if exact_form == query else float(score)
            if not unit.valid_on(on):
                targets = [c for c in self.current(code, on) if self.units[c].valid_on(on)]
                score -= 1  # the current name of the same place wins a tie
            else:
                targets = [code]
            for t in targets:
                best[t] = max(best.get(t, 0.0), score)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:5]
        return [(code, self.units[code].name, score) for code, score in ranked]

    def _index(self, kinds: tuple[str, ...]) -> dict[tuple[str, str], str]:
        return _index_for(self, kinds)


@lru_cache(maxsize=16)
def _index_for(catalogue: UnitCatalogue, kinds: tuple[str, ...]) -> dict[tuple[str, str], str]:
    return {(u.code, form): form for u in catalogue.units.values() if catalogue._kind_ok(u, kinds) for form in u.names}


@lru_cache(maxsize=4)
def load_catalogue(directory: Path) -> UnitCatalogue:
    """The catalogue of a data folder, read once per process (analytics commands call it per run)."""
    return UnitCatalogue.load(directory)
