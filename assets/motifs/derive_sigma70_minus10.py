"""Derive the sigma70 -10 box reference (``sigma70_minus10.meme``) from mapped transcription start sites.

For machines without the shared motif databases the demo needs a sigma70 -10 motif to name what its attention heads
find. This script makes one from data the project may redistribute, by a documented, deterministic method:

- the 20 nt upstream (positions -20..-1, on the TSS's strand) of the 2,672 dRNA-seq TSS of E. coli K-12 MG1655
  of Thomason et al. (2015) (``assets/demo``, the demo's own data);
- a 6-column motif fitted to them by expectation maximisation of MEME's ZOOPS model (zero or one occurrence per
  sequence, any start in the window, Bailey & Elkan 1994) with the background of the sequences' own base
  composition, started from the Pribnow box consensus TATAAT (0.7 on the consensus base) and iterated until no
  probability moves by more than 1e-7;
- written with the expected counts of the fitted model (``nsites``: the expected number of occurrences).

The motif comes from the TSS the demo trains on, so a head matching it shows that the head found the box those TSS
hold; the independent check is Tomtom against B. subtilis SigA_2 of DBTBS (best match, q 0.0013, no offset), which
the demo uses instead when the shared databases are present. (The same method on the 3,080 Z. mobilis ZM4 promoters
of Vera et al. 2020 converges to an AT-rich motif that matches no sigma factor, so it is not used.)

Run from the repository root: ``python assets/motifs/derive_sigma70_minus10.py``. The same inputs give the same
bytes; ``tests/interpret/test_reference_motif.py`` checks the bundled file against a fresh derivation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pygenome.io.genome import encode, read_genome, reverse_complement, windows
from pygenome.io.motifs import Motif, consensus, write_meme
from pygenome.io.sites import read_sites_bed

NAME = "sigma70_minus10.Ecoli_Thomason2015"
UPSTREAM = 20  # nt before the TSS searched for the box
SEED = "TATAAT"  # the Pribnow box
SEED_PROBABILITY = 0.7
TOLERANCE = 1e-7
MAX_ITERATIONS = 5000


def upstream_of_sites(fasta, bed) -> np.ndarray:
    """Codes ``(sites, UPSTREAM)`` of positions -UPSTREAM..-1 of each site of ``bed`` on its strand (circular)."""
    genome = read_genome(fasta, "circular")
    sites = read_sites_bed(bed, genome)
    rows = []
    for (contig, strand), group in sites.groupby(["contig", "strand"], sort=True):
        positions = group["position"].to_numpy()
        if strand == "+":
            rows.append(windows(genome.codes[contig], positions - UPSTREAM, UPSTREAM, circular=True))
        else:  # the − strand's upstream lies at higher coordinates, read as the reverse complement
            rows.append(reverse_complement(windows(genome.codes[contig], positions + 1, UPSTREAM, circular=True)))
    return np.concatenate(rows)


def fit_zoops(sequences: np.ndarray, seed: str = SEED) -> tuple[np.ndarray, float]:
    """Expected counts ``(width, 4)`` (A, C, G, T) and the expected number of occurrences of a ZOOPS motif fitted by
    EM to ``sequences`` ``(n, length)`` (codes; N never matches)."""
    width = len(seed)
    known = sequences[sequences < 4]
    background = np.bincount(known, minlength=4) / known.size
    starts = np.arange(sequences.shape[1] - width + 1)
    placements = np.stack([sequences[:, start:start + width] for start in starts], axis=1)  # (n, starts, width)
    one_hot = placements[..., None] == np.arange(4)  # (n, starts, width, 4); N is all False
    probability = np.full((width, 4), (1 - SEED_PROBABILITY) / 3)
    probability[np.arange(width), encode(seed)] = SEED_PROBABILITY
    prior = 0.5  # probability that a sequence holds an occurrence
    for _ in range(MAX_ITERATIONS):
        ratio = np.where(one_hot, probability / background, 1.0).prod(axis=(2, 3))  # (n, starts)
        ratio = np.where((placements < 4).all(axis=2), ratio, 0.0)
        weight = prior / len(starts) * ratio
        posterior = weight / ((1 - prior) + weight.sum(axis=1, keepdims=True))
        counts = np.einsum("ns,nswb->wb", posterior, one_hot.astype(np.float64))
        updated = (counts + background) / (counts.sum(axis=1, keepdims=True) + 1)  # one pseudo-site, as background
        prior = posterior.sum() / len(sequences)
        moved = np.abs(updated - probability).max()
        probability = updated
        if moved < TOLERANCE:
            return counts, posterior.sum()
    raise RuntimeError(f"EM did not converge in {MAX_ITERATIONS} iterations")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demo", type=Path, default=Path("assets/demo"), help="the bundled demo data")
    parser.add_argument("--out", type=Path, default=Path("assets/motifs/sigma70_minus10.meme"))
    args = parser.parse_args()
    sequences = upstream_of_sites(args.demo / "NC_000913.3.fa.gz", args.demo / "tss_thomason2015_dRNAseq.bed")
    counts, occurrences = fit_zoops(sequences)
    motif = Motif(NAME, counts, nsites=int(round(occurrences)),
                  description=f"sigma70 -10 box, ZOOPS EM on -{UPSTREAM}..-1 of {len(sequences)} E. coli K-12 "
                              "dRNA-seq TSS (Thomason et al. 2015)")
    write_meme(args.out, [motif])
    print(f"wrote {args.out}: {NAME}, consensus {consensus(motif)}")


if __name__ == "__main__":
    main()
