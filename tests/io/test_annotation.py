"""Genome annotation: a real GenBank file, written here with Biopython from the bundled E. coli FASTA and RefSeq GFF3,
reads as the same genome and the same genes as the FASTA + GFF3; bad annotations are refused by name."""

import gzip
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
from Bio import SeqIO
from Bio.Seq import Seq
from Bio.SeqFeature import CompoundLocation, FeatureLocation, SeqFeature
from Bio.SeqRecord import SeqRecord

from pygenome.errors import InputError
from pygenome.io.annotation import gff_topology, read_annotation
from pygenome.io.genome import read_genome

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"
FASTA, GFF = DEMO / "NC_000913.3.fa.gz", DEMO / "NC_000913.3.gff.gz"


def genbank_from_gff(fasta: Path, gff: Path, path: Path) -> Path:
    """A GenBank file of the FASTA's sequence and the GFF's gene, CDS and RNA features (their locus_tag, gene,
    product and pseudo qualifiers), written by Biopython as NCBI would: circular, with the features' coordinates."""
    record = next(SeqIO.parse(gzip.open(fasta, "rt"), "fasta"))
    features = []
    with gzip.open(gff, "rt") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#") or len(fields) != 9 or fields[2] not in ("gene", "pseudogene", "CDS", "tRNA",
                                                                             "rRNA", "ncRNA"):
                continue
            attributes = {key: unquote(value) for key, value in (item.split("=", 1) for item in fields[8].split(";")
                                                                  if "=" in item)}
            qualifiers = {key: [attributes[key]] for key in ("locus_tag", "gene", "product") if key in attributes}
            kind = fields[2]
            if kind == "pseudogene":
                kind, qualifiers["pseudo"] = "gene", [""]
            location = FeatureLocation(int(fields[3]) - 1, int(fields[4]), 1 if fields[6] == "+" else -1)
            features.append(SeqFeature(location, type=kind, qualifiers=qualifiers))
    annotated = SeqRecord(Seq(str(record.seq)), id=record.id, name=record.id.split(".")[0], description="E. coli",
                          features=features, annotations={"molecule_type": "DNA", "topology": "circular"})
    with gzip.open(path, "wt") as out:
        SeqIO.write(annotated, out, "genbank")
    return path


@pytest.fixture(scope="module")
def genbank(tmp_path_factory):
    return genbank_from_gff(FASTA, GFF, tmp_path_factory.mktemp("genbank") / "ecoli.gbff.gz")


def test_a_genbank_file_is_the_same_genome_and_genes_as_fasta_and_gff(genbank):
    from_genbank = read_genome(genbank)
    from_fasta = read_genome(FASTA, "circular")
    assert from_genbank.contigs == from_fasta.contigs and from_genbank.checksum == from_fasta.checksum
    assert from_genbank.contigs[0].circular and not from_genbank.untagged  # topology from the LOCUS line
    genes = read_annotation(GFF, from_fasta)
    # Biopython joins a qualifier wrapped over lines with a space, also after a hyphen ("2,6- diaminopimelate")
    unwrapped = read_annotation(genbank, from_genbank).assign(product=lambda t: t["product"].str.replace(" ", ""))
    pd.testing.assert_frame_equal(unwrapped, genes.assign(product=genes["product"].str.replace(" ", "")))
    assert len(genes) == 4639 and set(genes["type"]) == {"CDS", "pseudogene", "ncRNA", "tRNA", "rRNA"}
    thrl = genes.iloc[0]
    assert (thrl.gene, thrl.locus_tag, thrl.start, thrl.end, thrl.strand, thrl["product"]) == (
        "thrL", "b0001", 189, 255, "+", "thr operon leader peptide")
    assert gff_topology(GFF) == {"NC_000913.3": True}  # Is_circular=true on its region


def test_a_gene_across_the_origin_of_a_circular_genome_ends_past_its_length(tmp_path):
    sequence = "ACGT" * 250
    across = SeqFeature(CompoundLocation([FeatureLocation(950, 1000, 1), FeatureLocation(0, 30, 1)]), type="CDS",
                        qualifiers={"locus_tag": ["x1"], "product": ["across"]})
    inside = SeqFeature(FeatureLocation(100, 400, -1), type="CDS", qualifiers={"locus_tag": ["x2"]})
    record = SeqRecord(Seq(sequence), id="pl1", features=[across, inside],
                       annotations={"molecule_type": "DNA", "topology": "circular"})
    SeqIO.write(record, tmp_path / "p.gb", "genbank")
    genes = read_annotation(tmp_path / "p.gb", read_genome(tmp_path / "p.gb"))
    assert genes[["locus_tag", "start", "end", "strand", "type"]].values.tolist() == [
        ["x2", 100, 400, "-", "CDS"], ["x1", 950, 1030, "+", "CDS"]]


def _gff(tmp_path, *lines, pragma="##sequence-region NC_000913.3 1 4641652"):
    path = tmp_path / "bad.gff"
    path.write_text("##gff-version 3\n" + (pragma + "\n" if pragma else "") + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("lines, pragma, message", [
    (["chr1\tRefSeq\tgene\t10\t100\t.\t+\t.\tID=g1"], None,
     r"bad.gff: line 2: contig 'chr1' is not in the genome .*NC_000913.3.fa.gz \(its contigs: NC_000913.3\); give "
     r"the annotation of this genome's assembly"),
    (["NC_000913.3\tRefSeq\tgene\t10\t100\t.\t+\t.\tID=g1"], "##sequence-region NC_000913.3 1 4641000",
     r"bad.gff: line 3: contig 'NC_000913.3' is 4,641,000 nt long here but 4,641,652 nt in the genome"),
    (["NC_000913.3\tRefSeq\tgene\t10\t100\t.\t+"], None, r"bad.gff: line 2: 7 tab-separated fields, not the 9"),
    (["NC_000913.3\tRefSeq\tgene\t100\t10\t.\t+\t.\tID=g1"], None, r"bad.gff: line 2: a gene needs 1 <= start <= end"),
])
def test_an_annotation_of_another_assembly_or_malformed_is_refused(tmp_path, lines, pragma, message):
    with pytest.raises(InputError, match=message):
        read_annotation(_gff(tmp_path, *lines, pragma=pragma), read_genome(FASTA))


def test_a_genbank_file_without_sequence_is_refused(tmp_path):
    path = tmp_path / "empty.gbk"
    path.write_text("LOCUS       X1                      1000 bp    DNA     circular BCT 01-JAN-2020\n"
                    "FEATURES             Location/Qualifiers\n"
                    "     gene            1..30\n                     /locus_tag=\"a\"\n"
                    "CONTIG      join(AB000001.1:1..1000)\n//\n")  # NCBI's CON records: parts, no sequence
    with pytest.raises(InputError, match=r"empty.gbk: record 1 \(X1\) has no sequence; download the GenBank file "
                                         "with its sequence"):
        read_genome(path)
