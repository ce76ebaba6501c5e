"""Settings of the motifs step, light to import (the command line reads their defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WindowRule:
    """How the motif under a head's peak is read (the rule of :mod:`pygenome.interpret.extract`)."""

    margin: int = 3
    quantile: float = 0.95
    flank: int = 3
    min_information: float = 0.25
    min_width: int = 4
    min_total_information: float = 4.0  # bits: a motif must carry at least this much


@dataclass(frozen=True)
class MotifSettings:
    """Settings of the step (each a ``pygenome motifs`` option)."""

    alpha: float = 0.01  # profiles: q-value below which an offset may be significant
    min_fold: float = 1.5  # profiles: and the sites' mean attention at least this many times the controls'
    rule: WindowRule = field(default_factory=WindowRule)
    max_peaks: int = 3  # motifs: from the strongest peaks of each head
    occurrence_p: float = 1e-3  # enrichment: p-value of a motif occurrence at one placement
    report_q: float = 0.05  # a head motif is reported when its enrichment q-value is below this
    match_q: float = 0.05  # Tomtom: q-value of a match
    recurrence: float = 0.75  # recurrence: mean column correlation of similar motifs
