"""Analytics: what the collected answers say, computed from the database.

- ``load_frame`` / ``iter_frames``: the responses of a flow as pandas DataFrames, one row per
  response and one column per result key (previews never included; filters by disposition, unit
  and period ``YYYY``, ``YYYY-Qn``, ``YYYY-MM`` or ``FROM..TO``).
- ``score`` / ``score_flow``: the indices a flow's ``scoring`` rules define (SIPAS element shares
  and their mean, expectation shares, PAR INDEX scaled means), overall and per unit, so the
  formulas stay data an official can correct.
- ``export_responses``: CSV (Excel-safe), XLSX with a codebook, or Parquet, streamed in chunks and
  written atomically.
"""
from .export import export_responses
from .frame import iter_frames, load_frame, parse_period
from .scoring import score, score_flow

__all__ = ["export_responses", "iter_frames", "load_frame", "parse_period", "score", "score_flow"]
