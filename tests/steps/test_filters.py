"""The filters step: a CNN's first-layer filters as motifs, matched against the planted boxes; a model without
filters refused."""

import pandas as pd

from pygenome.cli import main
from pygenome.io.motifs import read_motifs
from pygenome.steps.filters import filters
from tests.conftest import write_planted_database


def test_its_first_layer_filters_match_the_planted_motifs(trained_cnn, trained, tmp_path, capsys):
    database = write_planted_database(tmp_path / "known.meme")
    summary = filters(trained_cnn / "model", trained["fasta"], trained["labels"], tmp_path / "filters", "g",
                      databases=[database], topology="circular")
    table = pd.read_csv(tmp_path / "filters" / "g.filters.tsv", sep="\t")
    assert summary["filters"] == len(table) == 32
    matched = table[table.best_match_q < 0.05]
    assert {"planted_TATAAT", "planted_TTGACA"} <= set(matched.best_match)  # both boxes among the filters
    written = read_motifs(tmp_path / "filters" / "g.filters.meme")
    assert len(written) == summary["written"] and all(motif.width == 19 for motif in written)
    assert main(["filters", "--model", str(trained["folder"] / "model"), "--fasta", str(trained["fasta"]),
                 "--sites", str(trained["labels"]), "--outdir", str(tmp_path / "no"), "--prefix", "g"]) == 2
    assert "has no first-layer filters" in capsys.readouterr().err
