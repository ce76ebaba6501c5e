"""The classify step: what each site is — transcription start sites (known, called from reads, or predicted) classed
by the genes of the genome's annotation as TSSpredator does (primary, secondary, internal, antisense, orphan; see
:mod:`pygenome.interpret.site_classes`), with the gene, its product and the 5' UTR length, leaderless sites flagged.

The annotation is a GFF3 file beside a FASTA, or a GenBank file (the genome and its genes at once, so ``--fasta``
may be the GenBank file and ``--annotation`` left out); its contigs must be the genome's, with their lengths.

With ``known`` sites (e.g. the labels, when the sites are predicted ones), each class's sites are matched to them
within ``distance`` nt: the precision per class says whether sites the labels lack are internal or antisense TSS
(which a primary-TSS label set leaves out) or orphans.

Outputs ``<prefix>.sites.tsv`` (every site with its classes, gene, product, UTR length, leaderless flag, and with
``known`` whether a known site is near), ``<prefix>.sites.bed`` (BED6, the class and gene in the name column,
``primary:thrL``; the score in 0-1000, the model's probability × 1000 where the sites have one) and
``<prefix>.classes.json`` (the counts per class, the leaderless ones, the precision per class).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.interpret.site_classes import (
    ANTISENSE_DISTANCE,
    CLASS_COLUMNS,
    CLASSES,
    UTR_LENGTH,
    class_counts,
    classify_sites,
)
from pygenome.io.annotation import gff_topology, read_annotation
from pygenome.io.genome import is_genbank, read_genome
from pygenome.io.layout import output
from pygenome.io.outputs import atomic_outputs, write_json
from pygenome.io.sites import distance_to_nearest, query_sites, sort_sites

MATCH_DISTANCE = 10  # nt: a site within this of a known one is that site (the evaluate step's tolerance)
TABLE_COLUMNS = ["contig", "position", "strand", "name", "score", *CLASS_COLUMNS]


def classify(fasta, sites, outdir, prefix: str, annotation=None, topology: str = "auto", known=None,
             utr_length: int = UTR_LENGTH, antisense_distance: int = ANTISENSE_DISTANCE,
             distance: int = MATCH_DISTANCE) -> dict:
    """Run the classify step (see the module): ``sites`` one source (a BED file or a label track) or several (the
    predict step's BED per contig; a site in two counts once). Returns the summary written to ``classes.json``."""
    if annotation is None:
        if not is_genbank(fasta):
            raise InputError(f"{fasta}: a FASTA holds no genes; give the genome's annotation with --annotation (GFF3 "
                             "or GenBank), or the GenBank file itself as --fasta")
        annotation = fasta
    if utr_length < 0 or antisense_distance < 0 or distance < 0:
        raise InputError("the UTR length, the antisense distance and the match distance must be 0 or more")
    genome = read_genome(fasta, topology)
    if topology == "auto" and genome.untagged and not is_genbank(annotation):  # NCBI's GFF3 says Is_circular=true
        stated = gff_topology(annotation)
        if all(stated.get(contig.name) for contig in genome.contigs):
            genome = read_genome(fasta, "circular")
    genes = read_annotation(annotation, genome)
    names = [contig.name for contig in genome.contigs]
    sources = [sites] if isinstance(sites, (str, Path)) else list(sites)
    if not sources:
        raise InputError("no sites to class: give --sites a BED file or a label track")
    queried = pd.concat([query_sites(source, genome, names) for source in sources], ignore_index=True)
    queried = sort_sites(queried.drop_duplicates(["contig", "position", "strand"]), names)
    table = classify_sites(queried, genes, genome, utr_length, antisense_distance)
    table = table.reindex(columns=TABLE_COLUMNS)
    summary = {"pygenome": __version__, "genes": len(genes), **class_counts(table),
               "circular_contigs": [contig.name for contig in genome.contigs if contig.circular], "parameters": {
        "fasta": Path(fasta).name, "annotation": Path(annotation).name,
        "sites": [Path(source).name for source in sources], "topology": topology,
        "known": None if known is None else Path(known).name, "utr_length": utr_length,
        "antisense_distance": antisense_distance, "distance": distance}}
    if known is not None:
        table["known"] = _near(table, query_sites(known, genome, names), genome, distance).astype(np.int8)
        summary["precision"] = {name: _precision(table[table[name] == 1]["known"]) for name in CLASSES}
        summary["precision"]["all"] = _precision(table["known"])
    paths = [output("classify", key).path(outdir, prefix) for key in ("table", "bed", "summary")]
    with atomic_outputs(*paths) as (tsv, bed, summary_path):
        table.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
        _write_bed(table, bed)
        write_json(summary_path, summary, indent=2, sort_keys=True)
    return summary


def _near(table: pd.DataFrame, known: pd.DataFrame, genome, distance: int) -> np.ndarray:
    """Whether each site has a known site on its contig and strand within ``distance`` nt (around the origin of a
    circular contig)."""
    near = np.zeros(len(table), dtype=bool)
    for (contig, strand), group in table.groupby(["contig", "strand"]):
        targets = known.loc[(known["contig"] == contig) & (known["strand"] == strand), "position"].to_numpy()
        record = genome.contig(contig)
        if targets.size:
            near[group.index] = distance_to_nearest(group["position"].to_numpy(), targets,
                                                    record.length if record.circular else None) <= distance
    return near


def _precision(known: pd.Series) -> dict:
    return {"sites": int(known.size), "near_known": int(known.sum()),
            "precision": float(known.mean()) if known.size else None}


def _write_bed(table: pd.DataFrame, path) -> None:
    """BED6: the name ``class`` or ``class:gene``, the score the probability × 1000 (0 where there is none)."""
    score = table["score"].to_numpy(float)
    score = np.where(np.isfinite(score) & (score >= 0) & (score <= 1), np.round(1000 * score), 0).astype(int)
    gene = table["gene"].fillna(table["locus_tag"])
    names = np.where(gene.notna(), table["class"] + ":" + gene.fillna("").astype(str), table["class"])
    bed = pd.DataFrame({"contig": table["contig"], "start": table["position"], "end": table["position"] + 1,
                        "name": names, "score": score, "strand": table["strand"]})
    bed.to_csv(path, sep="\t", index=False, header=False)
