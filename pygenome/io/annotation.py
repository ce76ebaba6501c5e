"""Genome annotation: the genes of a genome, with their products, from GenBank (Biopython) or GFF3.

The gene table has one row per gene, in genome order: ``contig``, ``start``, ``end`` (0-based, half-open, forward
coordinates; on a circular contig a gene across the origin ends past the contig's length), ``strand``, ``locus_tag``,
``gene`` (its name), ``type`` (what the gene makes: ``CDS``, ``tRNA``, ``rRNA``, ``ncRNA``…, or ``pseudogene``) and
``product``. A GenBank file is a genome and its annotation at once (:func:`pygenome.io.genome.read_genome` reads its
sequences); a GFF3 file annotates a FASTA. Either way the annotation must name the genome's contigs with their
lengths: a contig that is not in the genome, or of another length, is an error that names the file and the line or
record.

GFF3 is read by our own few lines rather than Biopython's companion bcbio-gff: it names the file and line of a bad
record, stops at ``##FASTA``, and needs nothing but the standard library.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pandas as pd

from pygenome.errors import InputError
from pygenome.io.genome import is_genbank, open_text, read_genbank

GENE_COLUMNS = ["contig", "start", "end", "strand", "locus_tag", "gene", "type", "product"]
PRODUCTS = ("CDS", "tRNA", "rRNA", "ncRNA", "tmRNA", "misc_RNA", "RNase_P_RNA", "SRP_RNA", "antisense_RNA")


def read_annotation(path, genome) -> pd.DataFrame:
    """The gene table of ``path`` (GenBank or GFF3, plain or gzip), checked against ``genome`` (a
    :class:`pygenome.io.genome.Genome`): same contig names and lengths."""
    path = str(path)
    if not Path(path).is_file():
        raise InputError(f"{path}: annotation not found")
    genes = _genbank_genes(path, genome) if is_genbank(path) else _gff_genes(path, genome)
    order = {contig.name: number for number, contig in enumerate(genome.contigs)}
    genes = genes.assign(_order=genes["contig"].map(order)).sort_values(["_order", "start", "end", "strand"])
    return genes.drop(columns="_order").reset_index(drop=True)[GENE_COLUMNS]


def gff_topology(path) -> dict[str, bool]:
    """Per contig of a GFF3 file, whether its ``region`` feature says ``Is_circular=true`` (contigs without a region
    are left out)."""
    circular = {}
    for _, fields in _gff_lines(path):
        if fields[2] == "region":
            circular[fields[0]] = _attributes(fields[8]).get("Is_circular", "false").lower() == "true"
    return circular


def _check_contig(genome, name: str, length: int | None, where: str) -> None:
    names = {contig.name: contig for contig in genome.contigs}
    if name not in names:
        raise InputError(f"{where}: contig {name!r} is not in the genome {genome.path} (its contigs: "
                         f"{', '.join(names)}); give the annotation of this genome's assembly, with its contig names")
    if length is not None and length != names[name].length:
        raise InputError(f"{where}: contig {name!r} is {length:,} nt long here but {names[name].length:,} nt in the "
                         f"genome {genome.path}; give the annotation of this genome's assembly")


def _genbank_genes(path: str, genome) -> pd.DataFrame:
    genes = []
    for number, record in enumerate(read_genbank(path), start=1):
        length = len(record.seq)
        _check_contig(genome, record.id, length, f"{path}: record {number}")
        found, made = {}, {}  # by locus_tag (or place): gene features, and what the genes make (the first product)
        for feature in record.features:
            if feature.type not in ("gene", *PRODUCTS):
                continue
            start, end, strand = _span(feature.location, length)
            qualifiers = {name: " ".join(values[0].split()) for name, values in feature.qualifiers.items()}
            key = qualifiers.get("locus_tag") or (start, end, strand)
            row = [record.id, start, end, strand, qualifiers.get("locus_tag"), qualifiers.get("gene"), None, None]
            if feature.type == "gene":
                row[6] = "pseudogene" if "pseudo" in qualifiers or "pseudogene" in qualifiers else None
                found[key] = row
            elif key not in made:
                row[6], row[7] = feature.type, qualifiers.get("product")
                made[key] = row
        for key, row in found.items():
            child = made.pop(key, None)
            row[6] = row[6] or (child[6] if child else "gene")
            row[7] = child[7] if child else None
        genes += [*found.values(), *made.values()]  # products without a gene feature are genes themselves
    return pd.DataFrame(genes, columns=GENE_COLUMNS)


def _span(location, length: int) -> tuple[int, int, str]:
    """``(start, end, strand)`` of a Biopython location; a compound one across the origin (its parts wrap) ends past
    ``length``."""
    strand = "-" if location.strand == -1 else "+"
    parts = sorted(location.parts, key=lambda part: int(part.start))
    start, end = int(location.start), int(location.end)
    if len(parts) > 1 and int(parts[0].start) == 0 and int(parts[-1].end) == length:  # join(x..length, 1..y)
        first_gap = next(i for i in range(1, len(parts)) if int(parts[i].start) > int(parts[i - 1].end) + 1)
        start, end = int(parts[first_gap].start), int(parts[first_gap - 1].end) + length
    return start, end, strand


def _gff_lines(path):
    """``(line number, 9 fields)`` of each feature line of a GFF3 file, up to ``##FASTA``."""
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\n\r")
                if line.startswith("##FASTA"):
                    return
                if not line or line.startswith("#"):
                    continue
                fields = line.split("\t")
                if len(fields) != 9:
                    raise InputError(f"{path}: line {number}: {len(fields)} tab-separated fields, not the 9 of GFF3; "
                                     "is it a GFF3 file (seqid, source, type, start, end, score, strand, phase, "
                                     "attributes)?")
                yield number, fields
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise InputError(f"{path}: cannot read as GFF3 ({error})") from error


def _attributes(text: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in text.strip().strip(";").split(";") if "=" in item)
    return {unquote(key.strip()): unquote(value) for key, value in pairs}


def _gff_genes(path: str, genome) -> pd.DataFrame:
    lengths = _sequence_regions(path)
    genes, made, transcripts, seen = {}, {}, {}, set()
    for number, fields in _gff_lines(path):
        contig, kind, strand = fields[0], fields[2], fields[6]
        where = f"{path}: line {number}"
        if contig not in seen:
            _check_contig(genome, contig, lengths.get(contig), where)
            seen.add(contig)
        try:
            start, end = int(fields[3]) - 1, int(fields[4])
        except ValueError:
            raise InputError(f"{where}: start and end must be whole numbers, not {fields[3]!r} and {fields[4]!r}") \
                from None
        attributes = _attributes(fields[8])
        if kind == "region":
            _check_contig(genome, contig, end - start, where)
        elif kind in ("mRNA", "transcript"):  # gene > mRNA > CDS: the CDS's gene is the mRNA's parent
            transcripts[attributes.get("ID")] = attributes.get("Parent")
        if kind not in ("gene", "pseudogene", *PRODUCTS):
            continue
        if start < 0 or end <= start or strand not in ("+", "-"):
            raise InputError(f"{where}: a {kind} needs 1 <= start <= end and strand + or - (got {fields[3]}, "
                             f"{fields[4]}, {strand!r})")
        if kind in ("gene", "pseudogene"):
            key = attributes.get("ID", f"{contig}:{start}-{end}{strand}")
            genes[key] = [contig, start, end, strand, attributes.get("locus_tag"),
                          attributes.get("gene") or attributes.get("Name"),
                          "pseudogene" if kind == "pseudogene" else None, None]
        else:
            parent = attributes.get("Parent")
            row = made.setdefault(transcripts.get(parent, parent) or f"{contig}:{start}-{end}{strand}", [
                contig, start, end, strand, attributes.get("locus_tag"), attributes.get("gene"), kind, None])
            row[7] = row[7] or attributes.get("product")
    for key, row in genes.items():
        child = made.pop(key, None)
        row[6] = row[6] or (child[6] if child else "gene")
        row[7] = child[7] if child else None
    return pd.DataFrame([*genes.values(), *made.values()], columns=GENE_COLUMNS)  # products without a gene: genes


def _sequence_regions(path: str) -> dict[str, int]:
    """Contig lengths of the ``##sequence-region`` pragmas of a GFF3 file."""
    lengths = {}
    with open_text(path) as handle:
        for line in handle:
            if line.startswith("##sequence-region"):
                parts = line.split()
                if len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
                    lengths[parts[1]] = int(parts[3]) - int(parts[2]) + 1
            elif line.startswith("##FASTA") or (line.strip() and not line.startswith("#")):
                break
    return lengths
