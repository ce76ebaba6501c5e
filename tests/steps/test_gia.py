"""Global importance analysis on the planted-promoter model (conftest ``trained``: TTGACA at -35..-30, TATAAT at
-12..-7, a 17 nt spacer): the planted -10 box has a clearly positive effect where it was planted and none shuffled or
elsewhere; the spacing scan of the -35 box peaks at the planted spacer."""

import json

import numpy as np
import pandas as pd
import pytest

from pygenome.cli import main
from pygenome.errors import InputError
from pygenome.io.genome import read_genome
from pygenome.steps.gia import backgrounds, gia, motif_instances
from tests.conftest import write_planted_database


@pytest.fixture(scope="module")
def analysed(trained, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("gia")
    summary = gia(trained["folder"] / "model", trained["fasta"], outdir, "g", "TATAAT", offsets=[-30, -20, -12, -5],
                  second="TTGACA", spacings=range(13, 22), count=1000, topology="circular")
    return {"outdir": outdir, "summary": summary, "table": pd.read_csv(outdir / "g.gia.tsv", sep="\t")}


def effect(table, motif, offset):
    return table[(table.analysis == "position") & (table.motif == motif) & (table.offset == offset)].iloc[0]


def test_the_planted_box_has_a_clear_effect_where_it_was_planted_and_none_shuffled(analysed):
    table = analysed["table"]
    planted = effect(table, "TATAAT", -12)
    assert planted["mean"] > 3 and planted["ci_low"] > 2 and planted["probability_mean"] > 0.3
    assert abs(effect(table, "TATAAT (shuffled)", -12)["mean"]) < 0.5
    for offset in (-30, -20, -5):  # elsewhere a tenth of the planted effect at most (-0.57 at one on an AMD EPYC)
        assert abs(effect(table, "TATAAT", offset)["mean"]) < 0.1 * planted["mean"]


def test_the_spacing_scan_peaks_at_the_planted_spacer(analysed):
    spacing = analysed["summary"]["spacing"]
    assert spacing["first_offset"] == -12 and spacing["best"] == 17
    scan = analysed["table"][analysed["table"].analysis == "spacing"]
    assert list(scan.spacing) == list(range(13, 22)) and scan[scan.spacing == 17].offset.item() == -35


def test_a_motif_from_a_file_is_sampled_and_has_the_same_effect(trained, tmp_path):
    database = write_planted_database(tmp_path / "known.meme")
    summary = gia(trained["folder"] / "model", trained["fasta"], tmp_path, "m", str(database), "planted_TATAAT",
                  offsets=[-12], count=200, topology="circular")
    row = next(r for r in summary["effects"] if r["motif"] == "planted_TATAAT")
    assert row["mean"] > 1.5  # instances sampled at 85 % consensus: weaker than the word itself, still clear
    matrix = np.full((6, 4), 0.05)
    matrix[np.arange(6), [3, 0, 3, 0, 0, 3]] = 0.85
    instances = motif_instances(matrix, 2000, seed=1)
    assert (instances == np.array([3, 0, 3, 0, 0, 3])).mean() == pytest.approx(0.85, abs=0.02)


def test_backgrounds_keep_the_genomes_composition_and_are_reproducible(trained):
    genome = read_genome(trained["fasta"], "circular")
    first = backgrounds(genome, 300, 141, seed=4)
    assert np.array_equal(first, backgrounds(genome, 300, 141, seed=4))
    genome_gc = np.isin(genome.codes["chrom"], (1, 2)).mean()
    assert np.isin(first, (1, 2)).mean() == pytest.approx(genome_gc, abs=0.02)


def test_the_command_writes_the_same_bytes_again(analysed, trained, tmp_path):
    assert main(["gia", "--model", str(trained["folder"] / "model"), "--fasta", str(trained["fasta"]), "--topology",
                 "circular", "--motif", "TATAAT", "--at", "-30", "-20", "-12", "-5", "--second", "TTGACA",
                 "--spacings", "13", "21", "--backgrounds", "1000", "--outdir", str(tmp_path), "--prefix", "g"]) == 0
    for kind in ("tsv", "json", "png"):
        assert (tmp_path / f"g.gia.{kind}").read_bytes() == (analysed["outdir"] / f"g.gia.{kind}").read_bytes()
    assert json.loads((tmp_path / "g.gia.json").read_text())["backgrounds"] == 1000


def test_bad_requests_are_refused(trained, tmp_path):
    model, fasta = trained["folder"] / "model", trained["fasta"]
    with pytest.raises(InputError, match="does not fit in the model's window"):
        gia(model, fasta, tmp_path, "g", "TATAAT", offsets=[-500], count=10)
    with pytest.raises(InputError, match="a word of A, C, G and T or an existing motif file"):
        gia(model, fasta, tmp_path, "g", "TATANT", count=10)
    with pytest.raises(InputError, match="spacings"):
        gia(model, fasta, tmp_path, "g", "TATAAT", second="TTGACA", count=10)
    assert not any(tmp_path.glob("g.*"))
