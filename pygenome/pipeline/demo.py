"""The demo: the whole pipeline (``pygenome run``) on bundled E. coli data, from simulated dRNA-seq alignments.

The bundled data (``assets/demo``) hold the E. coli K-12 MG1655 genome and the 2,672 TSS Thomason et al. (2015)
mapped by dRNA-seq. No TSS-seq alignments can be bundled, so the demo simulates a TEX+ / TEX− library pair from those
TSS (:func:`pygenome.pipeline.simulate.tss_seq_libraries`: primary TSS enriched by TEX, processed 5' ends and
background reads in both libraries), writes a one-genome samplesheet for them and runs every step on it with the
``cpu`` training preset: label (sites called from the alignments), train, predict, baseline (the -10 box scan),
evaluate, motifs (matched against the bundled sigma70 -10 reference, ``pygenome/data/sigma70_minus10.meme``, and any
``databases`` given) and report. Its figures go to ``demo_summary.json``: how well the simulated alignments gave back
the known TSS, the model's and the baseline's held-out ROC and PR AUC, and the attention heads whose motif is a sigma70
-10 box.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pygenome.errors import InputError
from pygenome.io.genome import decode, read_genome
from pygenome.io.layout import output
from pygenome.io.outputs import atomic_outputs, write_json
from pygenome.io.package_data import SIGMA70_MINUS10
from pygenome.io.sites import fraction_near, read_sites_bed
from pygenome.pipeline.plan import MOTIFS_PREFIX, Params
from pygenome.pipeline.run import run
from pygenome.pipeline.simulate import tss_seq_libraries, write_bam

GENOME = "NC_000913.3.fa.gz"
TSS = "tss_thomason2015_dRNAseq.bed"
GENOME_ID = "ecoli"
REFERENCE = SIGMA70_MINUS10
MINUS10_TARGETS = ("sigma70_minus10", "SigA_2", "RpoD")  # names of sigma70 / sigma A -10 motifs in the databases
TITLE = "pygenome demo: E. coli K-12 MG1655 TSS"
DESCRIPTION = ("The alignments are simulated: a TEX+ and a TEX- dRNA-seq library drawn from the 2,672 TSS Thomason et "
               "al. (2015) mapped in E. coli K-12 MG1655 (NC_000913.3), with processed 5' ends and background reads "
               "in both; the sites are then called from them by pygenome label. Head motifs are matched against a "
               "sigma70 -10 reference derived from the same TSS (assets/motifs) and any other database given.")


def demo(outdir, data="assets/demo", seed: int = 1, databases=(), threads: int | None = None,
         progress: bool = True, say=print) -> dict:
    """Simulate the alignments, run the pipeline into ``outdir`` (resumable: a second call skips finished tasks) and
    return (and write as ``demo_summary.json``) its figures."""
    data, outdir = Path(data).resolve(), Path(outdir).resolve()
    for name in (GENOME, TSS):
        if not (data / name).is_file():
            raise InputError(f"{data / name}: demo data not found; run from the pygenome repository root or pass "
                             "--data <repository>/assets/demo")
    genome = read_genome(data / GENOME, "circular")
    known = read_sites_bed(data / TSS, genome)
    say(f"simulating TEX+ and TEX- dRNA-seq alignments from {len(known)} known TSS (seed {seed})")
    contigs = {contig.name: decode(genome.codes[contig.name]) for contig in genome.contigs}
    treated, control, processed = tss_seq_libraries(known, contigs, np.random.default_rng(seed))
    reads = outdir / "reads"
    reads.mkdir(parents=True, exist_ok=True)
    bams = {name: write_bam(reads / f"{name}.bam", contigs, library)
            for name, library in (("tex_plus", treated), ("tex_minus", control))}
    samplesheet = outdir / "samplesheet.csv"
    with atomic_outputs(samplesheet) as (temp,):
        temp.write_text(f"id,fasta,bam,control_bam,topology\n{GENOME_ID},{data / GENOME},{bams['tex_plus']},"
                        f"{bams['tex_minus']},circular\n")
    params = Params(preset="cpu", databases=(str(REFERENCE), *(str(Path(d).resolve()) for d in databases)),
                    threads=threads, title=TITLE, description=DESCRIPTION)
    tasks = run(samplesheet, outdir, params, progress=progress, say=say)
    called = read_sites_bed(output("label", "sites").path(outdir / "label", GENOME_ID), genome)
    evaluation = json.loads(output("evaluate", "evaluation").path(outdir / "evaluate" / GENOME_ID).read_text())
    summary = {
        "simulated": {"treated_reads": len(treated), "control_reads": len(control), "known_tss": len(known),
                      "processed_sites": len(processed), "seed": seed},
        "label": {
            "sites_called": len(called),
            "known_tss_recovered": round(fraction_near(known, called, 0), 4),
            "known_tss_recovered_within_10nt": round(fraction_near(known, called, 10), 4),
            "called_sites_that_are_known_tss_within_10nt": round(fraction_near(called, known, 10), 4),
            "called_sites_at_processed_sites": round(fraction_near(called, processed, 0), 4)},
        "test_region": {scorer: {key: figures[key] for key in ("roc_auc", "pr_auc", "positions", "positives")}
                        for scorer, figures in (("model", evaluation["overall"]),
                                                ("baseline", evaluation["baseline"]["overall"]))},
        "minus10_heads": minus10_heads(outdir / "motifs"),
        "seconds": {task["key"]: task["seconds"] for task in tasks},
    }
    with atomic_outputs(outdir / "demo_summary.json") as (temp,):
        write_json(temp, summary, indent=2)
    return summary


def minus10_heads(motifs_dir: Path, targets=MINUS10_TARGETS, q_threshold: float = 0.05) -> list[dict]:
    """The reported head motifs that match a sigma70 / sigma A -10 motif (a target whose name holds one of
    ``targets``) at q ≤ ``q_threshold``: head, peak offset, motif position relative to the TSS, consensus,
    enrichment q-value and the best such match, best first."""
    heads = pd.read_csv(output("motifs", "heads").path(motifs_dir, MOTIFS_PREFIX), sep="\t")
    matches = pd.read_csv(output("motifs", "matches").path(motifs_dir, MOTIFS_PREFIX), sep="\t")
    pattern = "|".join(targets)
    minus10 = matches[matches["target"].str.contains(pattern, regex=True) & (matches["q_value"] <= q_threshold)]
    best = minus10.sort_values(["q_value", "target"]).drop_duplicates("query").set_index("query")
    rows = []
    for head in heads[(heads["reported"] == 1) & heads["motif"].isin(best.index)].itertuples():
        match = best.loc[head.motif]
        rows.append({"head": head.head_id, "peak_offset": int(head.peak_offset),
                     "motif_start": int(head.motif_start), "motif_end": int(head.motif_end),
                     "consensus": head.consensus, "enrichment_q": float(head.q_value),
                     "match": match["target"], "match_database": match["database"],
                     "match_q": float(match["q_value"])})
    return sorted(rows, key=lambda row: row["match_q"])
