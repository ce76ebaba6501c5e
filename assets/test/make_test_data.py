"""Make the pipeline's small test data (``assets/test``): two synthetic genomes with planted sigma70 promoters.

- ``alpha``: one 40 kb circular chromosome; labelled from simulated TSS-seq alignments (TEX+ and TEX- BAMs, indexed)
  of its 200 planted TSS (``alpha.truth.bed``: the answer, not an input).
- ``beta``: a 40 kb circular chromosome with 200 planted TSS given as known sites (``beta.bed``) and a 3 kb random
  circular plasmid (a second contig, so that prediction scatters over contigs).

Every promoter holds TTGACA at -35..-30 and TATAAT at -12..-7 (``pygenome.pipeline.simulate.promoter_genome``). The
samplesheet uses paths relative to its own folder. Run from the repository root:
``python assets/test/make_test_data.py``; the same code gives the same bytes.
"""

from pathlib import Path

import numpy as np

from pygenome.pipeline.simulate import promoter_genome, random_sequence, tss_seq_libraries, write_bam, write_fasta

FOLDER = Path(__file__).resolve().parent


def write_sites(path, sites) -> None:
    path.write_text("".join(f"{c}\t{p}\t{p + 1}\ttss\t0\t{s}\n" for c, p, s in zip(sites.contig, sites.position,
                                                                                   sites.strand)))


def main() -> None:
    sequence, sites = promoter_genome(np.random.default_rng(21), 40_000, 200)
    write_fasta(FOLDER / "alpha.fa", [("chrom", sequence, "circular")])
    treated, control, _ = tss_seq_libraries(sites, {"chrom": sequence}, np.random.default_rng(2), processed_sites=40,
                                            background_reads=3000)
    for name, reads in (("alpha.tex_plus.bam", treated), ("alpha.tex_minus.bam", control)):
        write_bam(FOLDER / name, {"chrom": sequence}, reads)
    write_sites(FOLDER / "alpha.truth.bed", sites)
    sequence, sites = promoter_genome(np.random.default_rng(22), 40_000, 200)
    plasmid = random_sequence(3_000, np.random.default_rng(5))
    write_fasta(FOLDER / "beta.fa", [("chrom", sequence, "circular"), ("plasmid", plasmid, "circular")])
    write_sites(FOLDER / "beta.bed", sites)
    (FOLDER / "samplesheet.csv").write_text("id,fasta,bam,control_bam,sites,topology\n"
                                            "alpha,alpha.fa,alpha.tex_plus.bam,alpha.tex_minus.bam,,circular\n"
                                            "beta,beta.fa,,,beta.bed,\n")


if __name__ == "__main__":
    main()
