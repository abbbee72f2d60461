"""Analytics: what the collected answers say, computed from the database.

- ``load_frame`` / ``iter_frames``: the responses of a flow as pandas DataFrames, one row per
  response and one column per result key (previews never included; filters by disposition, unit
  and period ``YYYY``, ``YYYY-Qn``, ``YYYY-MM`` or ``FROM..TO``).
- ``score`` / ``score_flow``: the indices a flow's ``scoring`` rules define (SIPAS element shares
  and their mean, expectation shares, PAR INDEX scaled means), overall and per unit, so the
  formulas stay data an official can correct.
- ``score_flow`` adds quality control (``quality``: speeders, straight-lining, duplicates,
  incomplete; analysts' overrides in ``overrides``), today's unit catalogue, 95 % intervals
  (``intervals``) and breakdowns by channel, period or profile answer.
- ``export_responses``: CSV (Excel-safe), XLSX with a codebook, or Parquet, streamed in chunks and
  written atomically; personal data pseudonymised unless allowed (``privacy``).
- ``sampling``: n = N / (1 + N·e²) per unit; ``report.render_report``: HTML / PDF / XLSX reports.
"""
from .export import export_responses
from .frame import iter_frames, load_frame, parse_period
from .rounds import check_quality, score_flow
from .scoring import score

__all__ = ["check_quality", "export_responses", "iter_frames", "load_frame", "parse_period", "score", "score_flow"]
