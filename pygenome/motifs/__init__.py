"""Motifs from attention heads: formats, comparison with known motifs, ..."""
