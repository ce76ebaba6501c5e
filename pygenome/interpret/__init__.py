"""Interpretation: attribution, attention profiles, motif extraction, enrichment, comparison with
known motifs, recurrence, statistics. Imports formats and models, never a step."""
