"""The package's own data files (``pygenome/data``): the samplesheet's JSON Schema, the eukaryotic JASPAR decoy, the
sigma70 −10 reference motif (their sources: assets/motifs/README.md) and the bundled trained models (``models/<name>``,
model folders of ``pygenome train``; how each was made: docs/models.md)."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "data"
SCHEMA = FOLDER / "schema_input.json"
DECOY = FOLDER / "jaspar2024_core_eukaryotic_decoy.transfac.gz"
SIGMA70_MINUS10 = FOLDER / "sigma70_minus10.meme"
MODELS = FOLDER / "models"
