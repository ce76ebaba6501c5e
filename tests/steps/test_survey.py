"""The survey step on real motifs outputs of three synthetic genomes of different GC (0.35, 0.5, 0.65), each with the
-35 box (TTGACA at -35..-30) and the -10 box (TATAAT at -12..-7) planted upstream of 100 sites. The -10 box loses AT
with GC, as across bacteria: its fourth base is G at 0, 20 and 40 % of the sites. Attention files are written
directly (no model to train): head L1H1 attends to the key at -7 (the 3' end of the -10 box), L1H2 to -30, and the
motifs step reads them as it reads those of ``pygenome predict``."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pygenome.cli import main
from pygenome.io.attention import save_attention
from pygenome.io.genome import encode, read_genome, reverse_complement
from pygenome.io.motifs import probabilities, read_motifs
from pygenome.io.sites import control_queries, site_table, sort_sites, write_sites_bed
from pygenome.io.tracks import genome_meta
from pygenome.pipeline.simulate import SIGMA70, random_sequence, write_fasta
from pygenome.steps.motifs import motifs
from pygenome.steps.survey import survey

GENOMES = (("lowgc", 0.35, 0.0, 4), ("midgc", 0.5, 0.2, 9), ("highgc", 0.65, 0.4, 15))  # id, GC, -10 box G, extras
MODEL = {"shift": 20, "context": 64, "conv_kernel": 7, "n_layers": 1, "n_heads": 2}
ATTENDED = {0: -7, 1: -30}  # head → the key offset its sites attend to


def planted_genome(rng, gc: float, variant: float, length: int = 20_000, n_sites: int = 100):
    """A chromosome of GC ``gc`` with both boxes upstream of ``n_sites`` sites (the -10 box's fourth base G at a
    ``variant`` share of them), and a plasmid without sites holding a stretch of Ns."""
    codes = encode(random_sequence(length, rng, gc)).copy()
    positions = np.sort(rng.choice(np.arange(150, length - 150, 150), size=n_sites, replace=False))
    strands = rng.choice(["+", "-"], size=n_sites)
    for position, strand in zip(positions, strands):
        for word, offset in SIGMA70.items():
            if word == "TATAAT" and rng.random() < variant:
                word = "TATGAT"
            box = encode(word)
            if strand == "+":
                codes[position + offset:position + offset + len(box)] = box
            else:
                end = position - offset + 1
                codes[end - len(box):end] = reverse_complement(box)
    plasmid = random_sequence(1500, rng, gc) + "N" * 40 + random_sequence(1460, rng, gc)
    sequence = "".join("ACGTN"[c] for c in codes)
    return {"chrom": sequence, "plasmid": plasmid}, site_table("chrom", positions, strands, "known")


def write_attention(path, fasta, sites, rng):
    """Attention at the sites and 300 controls: every row a noisy spread over the 65 keys; the sites' rows of head h
    put 0.4 more on the key at ``ATTENDED[h]``."""
    genome = read_genome(fasta)
    controls = control_queries(genome, ["chrom", "plasmid"], sites, 300, seed=1)
    queries = pd.concat([sites.assign(label=1, query="site"), controls.assign(label=0, query="control")],
                        ignore_index=True).assign(score=0.0)
    keys = MODEL["context"] + 1
    weights = rng.gamma(4.0, size=(len(queries), 1, 2, keys))
    weights /= weights.sum(axis=-1, keepdims=True)
    is_site = (queries["query"] == "site").to_numpy()
    for head, offset in ATTENDED.items():
        weights[is_site, 0, head] *= 0.6
        weights[is_site, 0, head, MODEL["shift"] - offset] += 0.4
    save_attention(path, weights, queries, {"model": MODEL, "genome": genome_meta(genome), "sites": "planted",
                                            "producer": "tests/steps/test_survey.py"})
    return path


def write_predicted(folder, genome_id, contigs, sites, extras, rng):
    """Predicted sites as ``pygenome predict`` writes them, one BED per contig: the planted sites and ``extras`` more
    on the chromosome, three on the plasmid."""
    beds = []
    for contig, table in (("chrom", pd.concat([sites, site_table("chrom", rng.integers(0, 20_000, extras), "+",
                                                                  "predicted")])),
                          ("plasmid", site_table("plasmid", rng.integers(0, 3000, 3), "-", "predicted"))):
        path = folder / f"{genome_id}.{contig}.predicted.bed"
        write_sites_bed(sort_sites(table.reset_index(drop=True)), path)
        beds.append(path)
    return beds


def build_survey(folder) -> dict:
    """Three genomes, their attention and predicted sites, the motifs step on all three (``<folder>/motifs``, prefix
    ``m``) and the survey of them (``<folder>/out``, prefix ``s``)."""
    rng = np.random.default_rng(11)
    genomes, sequences = [], {}
    for genome_id, gc, variant, extras in GENOMES:
        contigs, sites = planted_genome(rng, gc, variant)
        fasta = write_fasta(folder / f"{genome_id}.fa", [(name, seq, "circular") for name, seq in contigs.items()])
        attention = write_attention(folder / f"{genome_id}.attention.npz", fasta, sites, rng)
        beds = write_predicted(folder, genome_id, contigs, sites, extras, rng)
        genomes.append((genome_id, fasta, attention, beds))
        sequences[genome_id] = contigs
    motifs([(g, fasta, [attention]) for g, fasta, attention, _ in genomes], folder / "motifs", "m", progress=False)
    inputs = [(g, fasta, beds) for g, fasta, _, beds in genomes]
    summary = survey(inputs, folder / "motifs", "m", folder / "out", "s")
    return {"folder": folder, "inputs": inputs, "sequences": sequences, "summary": summary,
            "table": pd.read_csv(folder / "out" / "s.tsv", sep="\t", keep_default_na=False, na_values=[""]),
            "long": pd.read_csv(folder / "out" / "s.motifs.tsv", sep="\t")}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return build_survey(tmp_path_factory.mktemp("survey"))


def test_gc_length_and_predicted_sites_match_a_direct_count(run):
    table = run["table"].set_index("genome")
    assert list(table.index) == [g for g, *_ in GENOMES]  # in the order given
    for genome_id, _, beds in run["inputs"]:
        text = "".join(run["sequences"][genome_id].values())
        bases = sum(text.count(base) for base in "ACGT")  # Ns left out
        row = table.loc[genome_id]
        assert row["gc"] == pytest.approx((text.count("G") + text.count("C")) / bases, abs=1e-6)
        assert row["length"] == len(text) and row["contigs"] == 2
        lines = {line for bed in beds for line in bed.read_text().splitlines() if not line.startswith("#")}
        sites = {tuple(line.split("\t")[i] for i in (0, 1, 5)) for line in lines}  # contig, start, strand
        assert row["predicted_sites"] == len(sites)
        assert row["sites_per_mb"] == pytest.approx(len(sites) / len(text) * 1e6, rel=1e-5)
    assert table["gc"].is_monotonic_increasing  # 0.35, 0.5, 0.65 as simulated


def test_the_planted_boxes_are_groups_with_their_consensus_and_offset_in_every_genome(run):
    table, summary = run["table"], run["summary"]
    groups = {group["consensus"]: group for group in summary["groups"]}
    assert {"TATAAT", "TTGACA"} <= set(groups) and summary["recurring_groups"] == len(summary["groups"])
    for word, head, offset in (("TATAAT", "L1H1", "-12..-7"), ("TTGACA", "L1H2", "-35..-30")):
        name = groups[word]["group"]
        assert list(table[f"{name}_consensus"]) == [word] * 3
        assert list(table[f"{name}_offset"]) == [offset] * 3
        assert list(table[f"{name}_heads"]) == [head] * 3
        assert sorted(groups[word]["genomes"]) == sorted(g for g, *_ in GENOMES)


def test_the_minus_10_box_loses_at_with_gc_and_the_long_table_agrees(run):
    long, summary = run["long"], run["summary"]
    group = next(g for g in summary["groups"] if g["consensus"] == "TATAAT")
    rows = long[(long.group == group["group"]) & (long.representative == 1)].sort_values("gc")
    assert list(rows.genome) == ["lowgc", "midgc", "highgc"]
    assert rows.at_fraction.is_monotonic_decreasing and rows.at_fraction.iloc[0] > 0.95
    fit = group["at_fraction_vs_gc"]
    assert fit["n"] == 3 and fit["slope"] < 0 and fit["pearson_r"] < -0.9 and fit["spearman_r"] == pytest.approx(-1)
    matrices = {m.name: m for m in read_motifs(run["folder"] / "motifs" / "m.motifs.meme")}
    for row in rows.itertuples():
        p = probabilities(matrices[row.motif])
        assert row.at_fraction == pytest.approx((p[:, 0] + p[:, 3]).mean(), abs=1e-6)
    wide = run["table"].set_index("genome")[f"{group['group']}_at_fraction"]
    assert np.allclose(wide[rows.genome], rows.at_fraction)
    assert set(long.columns) >= {"genome", "group", "head_id", "consensus", "motif_start", "motif_end",
                                 "information_content", "q_value", "at_fraction"}


def test_the_figures_are_pngs_and_the_record_is_strict_json(run):
    out = run["folder"] / "out"
    figures = out / "s.figures"
    names = sorted(path.name for path in figures.iterdir())
    groups = [group["group"] for group in run["summary"]["groups"]]
    assert names == sorted([f"{g}.logos.{ext}" for g in groups for ext in ("png", "svg")] + ["at_fraction_vs_gc.png"])
    for name in names:
        if name.endswith(".png"):
            with Image.open(figures / name) as image:
                image.verify()
                assert image.format == "PNG"
        else:
            assert (figures / name).read_text().lstrip().startswith("<?xml")
    record = json.loads((out / "s.json").read_text(), parse_constant=pytest.fail)
    assert record["pygenome"] and record["note"] is None
    assert [g["genome"] for g in record["genomes"]] == [g for g, *_ in GENOMES]


def test_one_genome_writes_the_table_without_groups(run, capsys):
    genome_id, fasta, beds = run["inputs"][0]
    out = run["folder"] / "one"
    assert main(["survey", "--genome", genome_id, str(fasta), *map(str, beds), "--motifs",
                 str(run["folder"] / "motifs"), "--motifs-prefix", "m", "--outdir", str(out), "--prefix", "s"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("pygenome survey: 1 genome, ") and "0 recurring motif groups → " in line
    table = pd.read_csv(out / "s.tsv", sep="\t")
    assert list(table.columns) == ["genome", "length", "gc", "contigs", "predicted_sites", "sites_per_mb"]
    record = json.loads((out / "s.json").read_text())
    assert record["recurring_groups"] == 0 and "no motif group can recur" in record["note"]
    assert list((out / "s.figures").iterdir()) == []


def _args(run, genome=None, motifs_prefix="m", out="bad", prefix="s"):
    inputs = [(g, str(f), *map(str, beds)) for g, f, beds in run["inputs"]]
    if genome:
        inputs[0] = genome
    return [*(part for entry in inputs for part in ("--genome", *entry)), "--motifs", str(run["folder"] / "motifs"),
            "--motifs-prefix", motifs_prefix, "--outdir", str(run["folder"] / out), "--prefix", prefix]


@pytest.mark.parametrize("fault, message", [
    ("bed", "line 1: contig 'elsewhere' is not in the genome"),
    ("id", "m.heads.tsv: no genome nobody"),
    ("prefix", "other.heads.tsv: not found; give the outputs of `pygenome motifs`"),
    ("clash", "the survey would overwrite this output of pygenome motifs"),
])
def test_bad_input_exits_2_naming_the_file_and_writes_nothing(run, capsys, fault, message):
    genome_id, fasta, beds = run["inputs"][0]
    args = {"bed": {"genome": (genome_id, str(fasta), str(run["folder"] / "bad.bed"))},
            "id": {"genome": ("nobody", str(fasta), *map(str, beds))},
            "prefix": {"motifs_prefix": "other"},
            "clash": {"out": "motifs", "prefix": "m"}}[fault]
    (run["folder"] / "bad.bed").write_text("elsewhere\t10\t11\tx\t0\t+\n")
    before = sorted(path.name for path in (run["folder"] / "motifs").iterdir())
    assert main(["survey", *_args(run, **args)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("pygenome survey: error: ") and message in error, error
    assert not (run["folder"] / "bad").exists()
    assert sorted(path.name for path in (run["folder"] / "motifs").iterdir()) == before
