"""The bundled sigma70 -10 reference: re-derived from the bundled data it gives the same bytes, and it is the sigma
-10 box by an independent database (B. subtilis SigA_2 of DBTBS, when the shared data are present)."""

import subprocess
import sys
from pathlib import Path

from pygenome.interpret.compare import best_matches, compare
from pygenome.io.motifs import consensus, read_motifs
from tests.conftest import shared_file

REPOSITORY = Path(__file__).resolve().parents[2]
REFERENCE = REPOSITORY / "assets" / "motifs" / "sigma70_minus10.meme"


def test_derivation_reproduces_the_bundled_reference(tmp_path):
    out = tmp_path / "sigma70.meme"
    subprocess.run([sys.executable, "assets/motifs/derive_sigma70_minus10.py", "--out", str(out)], cwd=REPOSITORY,
                   check=True, capture_output=True)
    assert out.read_bytes() == REFERENCE.read_bytes()
    (motif,) = read_motifs(out)
    assert consensus(motif) == "TATAAT"


def test_reference_is_the_sigma_a_minus10_box_of_dbtbs():
    targets = read_motifs(shared_file("motifs/dbtbs_2015-11-06.meme"), skip_invalid=True)
    matches = best_matches(compare(read_motifs(REFERENCE), targets, "dbtbs"), q_threshold=0.01)
    assert len(matches) == 1
    assert "SigA_2" in matches["target"].iloc[0] and matches["offset"].iloc[0] == 0
