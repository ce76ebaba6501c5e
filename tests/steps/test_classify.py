"""The classify step: planted sites of every class around planted genes (both strands, across the origin), and the
E. coli demo's known TSS against the RefSeq genes, counted again here with bedtools."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pygenome.cli import main
from pygenome.pipeline.simulate import write_fasta

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"

GENES = [  # 1-based GFF coordinates: name, start, end, strand
    ("g1", 1001, 1600, "+"), ("g2", 3001, 3500, "-"), ("g4", 51, 600, "+")]
SITES = [  # 0-based position, strand, score, expected class, gene, UTR length, leaderless
    (900, "+", 0.9, "primary", "g1", 100, 0),
    (950, "+", 0.5, "secondary", "g1", 50, 0),
    (996, "+", 0.2, "secondary", "g1", 4, 1),  # 4 nt before the start codon: leaderless, yet not g1's strongest
    (1300, "+", 0.7, "internal", "g1", None, 0),
    (1250, "-", 0.7, "antisense", "g1", None, 0),
    (1650, "-", 0.7, "antisense", "g1", None, 0),  # 51 nt beyond g1's end, within the 100 of the antisense reach
    (2200, "+", 0.7, "orphan", None, None, 0),
    (3499, "-", 0.8, "primary", "g2", 0, 1),  # at g2's first base (its 3500, on the - strand): leaderless
    (3700, "-", 0.6, "secondary", "g2", 201, 0),
    (4950, "+", 0.7, "primary", "g4", 100, 0),  # 100 nt before g4 across the origin of the circular contig
]


@pytest.fixture
def planted(tmp_path):
    sequence = "".join(np.random.default_rng(0).choice(list("ACGT"), 5000))
    fasta = write_fasta(tmp_path / "g.fa", [("c", sequence, "circular")])
    gff = tmp_path / "g.gff3"
    gff.write_text("##gff-version 3\n##sequence-region c 1 5000\n" + "".join(
        f"c\ttest\tgene\t{start}\t{end}\t.\t{strand}\t.\tID=gene-{name};gene={name};locus_tag={name}\n"
        f"c\ttest\tCDS\t{start}\t{end}\t.\t{strand}\t0\tParent=gene-{name};product=protein {name}\n"
        for name, start, end, strand in GENES))
    bed = tmp_path / "sites.bed"
    bed.write_text("".join(f"c\t{p}\t{p + 1}\ts{n}\t{score}\t{strand}\n"
                           for n, (p, strand, score, *_) in enumerate(SITES)))
    return tmp_path, fasta, gff, bed


def test_planted_sites_get_their_classes_genes_and_utrs(planted, capsys):
    folder, fasta, gff, bed = planted
    assert main(["classify", "--fasta", str(fasta), "--annotation", str(gff), "--sites", str(bed), "--outdir",
                 str(folder / "out"), "--prefix", "g"]) == 0
    assert "10 sites against 3 genes: 3 primary, 3 secondary, 1 internal, 2 antisense, 1 orphan; 2 leaderless" in \
        capsys.readouterr().out
    table = pd.read_csv(folder / "out" / "g.sites.tsv", sep="\t").set_index("name").loc[
        [f"s{n}" for n in range(len(SITES))]]
    for (_, _, _, kind, gene, utr, leaderless), (name, row) in zip(SITES, table.iterrows()):
        assert (row["class"], None if pd.isna(row["gene"]) else row["gene"],
                None if pd.isna(row["utr_length"]) else int(row["utr_length"]), row["leaderless"]) == (
            kind, gene, utr, leaderless), name
    assert table.loc["s3", "product"] == "protein g1" and table.loc["s0", "internal"] == 0
    bed_out = pd.read_csv(folder / "out" / "g.sites.bed", sep="\t", header=None)
    assert bed_out[3].tolist()[:3] == ["primary:g1", "secondary:g1", "secondary:g1"]  # in genome order
    assert bed_out[4].tolist()[:3] == [900, 500, 200]  # the score x 1000, an integer as bigBed wants
    summary = json.loads((folder / "out" / "g.classes.json").read_text())
    assert summary["class"] == {"primary": 3, "secondary": 3, "internal": 1, "antisense": 2, "orphan": 1}


def test_on_a_linear_contig_nothing_reaches_across_the_origin(planted):
    folder, fasta, gff, bed = planted
    assert main(["classify", "--fasta", str(fasta), "--topology", "linear", "--annotation", str(gff), "--sites",
                 str(bed), "--outdir", str(folder / "linear"), "--prefix", "g"]) == 0
    table = pd.read_csv(folder / "linear" / "g.sites.tsv", sep="\t").set_index("name")
    assert table.loc["s9", "class"] == "orphan"


def test_precision_per_class_against_known_sites(planted):
    folder, fasta, gff, bed = planted
    known = folder / "known.bed"  # the primary sites, 8 nt off: within the 10 nt of matching
    known.write_text("c\t908\t909\tk\t0\t+\nc\t3491\t3492\tk\t0\t-\nc\t4958\t4959\tk\t0\t+\n")
    assert main(["classify", "--fasta", str(fasta), "--annotation", str(gff), "--sites", str(bed), "--known",
                 str(known), "--outdir", str(folder / "known"), "--prefix", "g"]) == 0
    precision = json.loads((folder / "known" / "g.classes.json").read_text())["precision"]
    assert precision["primary"] == {"sites": 3, "near_known": 3, "precision": 1.0}
    assert precision["secondary"] == {"sites": 3, "near_known": 0, "precision": 0.0}  # 950 is 42 nt from 908
    assert precision["all"]["near_known"] == 3 and precision["orphan"]["precision"] == 0.0


def test_a_fasta_without_annotation_is_refused(planted, capsys):
    folder, fasta, _, bed = planted
    assert main(["classify", "--fasta", str(fasta), "--sites", str(bed), "--outdir", str(folder / "none"),
                 "--prefix", "g"]) == 2
    assert "a FASTA holds no genes; give the genome's annotation with --annotation" in capsys.readouterr().err
    assert not (folder / "none").exists()


@pytest.mark.skipif(shutil.which("bedtools") is None, reason="bedtools is not installed")
def test_the_demo_tss_classes_agree_with_bedtools(tmp_path):
    """Linear (bedtools does not wrap): sites with a same-strand gene start 0-300 nt downstream (primary or
    secondary; one primary per such gene) from ``bedtools closest -s -D a -iu``, and sites on the other strand
    within 100 nt of a gene from ``bedtools window -w 100 -Sm``."""
    assert main(["classify", "--fasta", str(DEMO / "NC_000913.3.fa.gz"), "--annotation",
                 str(DEMO / "NC_000913.3.gff.gz"), "--sites", str(DEMO / "tss_thomason2015_dRNAseq.bed"),
                 "--outdir", str(tmp_path), "--prefix", "auto"]) == 0  # no topology in the FASTA, Is_circular in GFF
    assert json.loads((tmp_path / "auto.classes.json").read_text())["circular_contigs"] == ["NC_000913.3"]
    assert main(["classify", "--fasta", str(DEMO / "NC_000913.3.fa.gz"), "--topology", "linear", "--annotation",
                 str(DEMO / "NC_000913.3.gff.gz"), "--sites", str(DEMO / "tss_thomason2015_dRNAseq.bed"),
                 "--outdir", str(tmp_path), "--prefix", "ecoli"]) == 0
    classes = pd.read_csv(tmp_path / "ecoli.sites.tsv", sep="\t")
    genes = _gff_genes(DEMO / "NC_000913.3.gff.gz")
    genes.to_csv(tmp_path / "genes.bed", sep="\t", header=False, index=False)
    starts = genes.assign(start=np.where(genes.strand == "+", genes.start, genes.end - 1))
    starts.assign(end=starts.start + 1).sort_values(["contig", "start"]).to_csv(
        tmp_path / "starts.bed", sep="\t", header=False, index=False)
    sites = tmp_path / "sites.bed"
    subprocess.run(f"sort -k1,1 -k2,2n {DEMO / 'tss_thomason2015_dRNAseq.bed'} > {sites}", shell=True, check=True)
    closest = _bedtools(["closest", "-a", sites, "-b", tmp_path / "starts.bed", "-s", "-D", "a", "-iu", "-t",
                         "first"])
    near = closest[(closest.iloc[:, -1] >= 0) & (closest.iloc[:, -1] <= 300)]
    assert len(near) == classes["utr_length"].notna().sum()
    assert near.iloc[:, 9].nunique() == (classes["primary"] == 1).sum()  # the gene of each: one primary per gene
    antisense = _bedtools(["window", "-a", sites, "-b", tmp_path / "genes.bed", "-w", "100", "-Sm", "-u"])
    assert len(antisense) == (classes["antisense"] == 1).sum()
    print(f"E. coli demo TSS: {len(near)} within 300 nt upstream of a gene, {len(antisense)} antisense")


def _gff_genes(path) -> pd.DataFrame:
    """gene and pseudogene rows of a GFF3 file as BED6 (name: the ID), read here without pygenome."""
    table = pd.read_csv(path, sep="\t", comment="#", header=None)
    table = table[table[2].isin(["gene", "pseudogene"])]
    return pd.DataFrame({"contig": table[0], "start": table[3] - 1, "end": table[4],
                         "name": table[8].str.extract(r"ID=([^;]+)")[0], "score": 0, "strand": table[6]})


def _bedtools(arguments) -> pd.DataFrame:
    result = subprocess.run(["bedtools", *map(str, arguments)], capture_output=True, text=True, check=True)
    from io import StringIO

    return pd.read_csv(StringIO(result.stdout), sep="\t", header=None)


def test_the_report_shows_each_set_of_sites_by_class(planted):
    folder, fasta, gff, bed = planted
    known = folder / "known.bed"
    known.write_text("c\t908\t909\tk\t0\t+\n")
    for prefix, extra in (("g.predicted", ["--known", str(known)]), ("g.known", [])):
        assert main(["classify", "--fasta", str(fasta), "--annotation", str(gff), "--sites", str(bed), *extra,
                     "--outdir", str(folder / "classify"), "--prefix", prefix]) == 0
    assert main(["report", "--outdir", str(folder), "--prefix", "report", "--classes",
                 str(folder / "classify" / "g.predicted.classes.json"),
                 str(folder / "classify" / "g.known.classes.json")]) == 0
    page = (folder / "report.html").read_text()
    section = page[page.index('<section id="site-classes">'):]
    section = section[:section.index("</section>")]
    assert "at most 300 nt upstream of a gene" in section
    rows = re.findall(r"<tr>(.*?)</tr>", section)
    cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", rows[1])]
    assert cells[:5] == ["g.predicted", "3", "10", "3 (33% known)", "3 (0% known)"]
