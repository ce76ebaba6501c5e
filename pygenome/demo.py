"""The demo: the pipeline on bundled E. coli data (for now the label step, from a simulated dRNA-seq experiment).

The bundled data (``assets/demo``) hold the E. coli K-12 MG1655 genome and the 2,672 TSS Thomason et al. (2015)
mapped by dRNA-seq. No TSS-seq alignments can be bundled, so the demo simulates a TEX+ / TEX− library pair from those
TSS (:func:`pygenome.simulate.tss_seq_libraries`: primary TSS enriched by TEX, processed 5' ends and background reads
in both libraries), labels it with the control library, and scores the sites it calls against the known TSS.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pygenome.errors import InputError
from pygenome.genome import decode, read_genome
from pygenome.labels import label
from pygenome.outputs import atomic_outputs
from pygenome.simulate import tss_seq_libraries, write_bam
from pygenome.sites import fraction_near, read_sites_bed

GENOME = "NC_000913.3.fa.gz"
TSS = "tss_thomason2015_dRNAseq.bed"


def demo(outdir, data="assets/demo", seed: int = 1, workers: int = 1, progress: bool = True) -> dict:
    """Run the demo into ``outdir``; returns (and writes as ``demo_summary.json``) its figures."""
    data, outdir = Path(data), Path(outdir)
    for name in (GENOME, TSS):
        if not (data / name).is_file():
            raise InputError(f"{data / name}: demo data not found; run from the pygenome repository root or pass "
                             "--data <repository>/assets/demo")
    genome = read_genome(data / GENOME, "circular")
    known = read_sites_bed(data / TSS, genome)
    contigs = {contig.name: decode(genome.codes[contig.name]) for contig in genome.contigs}
    treated, control, processed = tss_seq_libraries(known, contigs, np.random.default_rng(seed))
    reads = outdir / "reads"
    reads.mkdir(parents=True, exist_ok=True)
    bams = {name: write_bam(reads / f"{name}.bam", contigs, library)
            for name, library in (("treated", treated), ("control", control))}
    qc = label(data / GENOME, outdir / "label", "ecoli", bam=bams["treated"], control_bam=bams["control"],
               topology="circular", workers=workers, progress=progress)
    called = read_sites_bed(outdir / "label" / "ecoli.sites.bed", genome)
    summary = {
        "simulated": {"treated_reads": len(treated), "control_reads": len(control), "known_tss": len(known),
                      "processed_sites": len(processed), "seed": seed},
        "reads": qc["reads"],
        "sites_called": len(called),
        "known_tss_recovered": round(fraction_near(known, called, 0), 4),
        "known_tss_recovered_within_10nt": round(fraction_near(known, called, 10), 4),
        "called_sites_that_are_known_tss_within_10nt": round(fraction_near(called, known, 10), 4),
        "called_sites_at_processed_sites": round(fraction_near(called, processed, 0), 4),
    }
    with atomic_outputs(outdir / "demo_summary.json") as (temp,):
        temp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary

