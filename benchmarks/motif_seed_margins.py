"""Benchmark of a test's margins: how much what a trained model learns varies with its training seed.

Trains the model of tests/conftest.py's ``trained`` fixture (planted TTGACA at -35 and TATAAT at -12 upstream of 300
sites of a 60 kb genome) with each seed, runs predict and motifs as tests/steps/test_motifs.py does, and prints, per
planted box, the statistics that test asserts on: how many reported head motifs Tomtom matches to it, and for the
best match the fraction of sites and of control positions that carry an occurrence. A seed changes the weights far
more than a CPU does, so the spread over seeds bounds what another host may give. Usage::

    python benchmarks/motif_seed_margins.py --seeds 0 1 2 3 4 5 --threads 1 --folder /tmp/margins
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pygenome.cli import main  # noqa: E402
from pygenome.model.windows import GenomeInput  # noqa: E402
from pygenome.pipeline.simulate import SIGMA70, promoter_genome, write_fasta  # noqa: E402
from pygenome.steps.label import label  # noqa: E402
from pygenome.steps.train import configs, train  # noqa: E402
from tests.conftest import write_planted_database, write_sites  # noqa: E402
from tests.steps.test_motifs import DECOY  # noqa: E402

SETTINGS = {"n_layers": 2, "n_heads": 4, "d_model": 16, "d_head": 8, "context": 64, "steps": 1000, "batch_size": 8,
            "segment_length": 64, "eval_every": 500, "checkpoint_every": 1000, "warmup_steps": 10,
            "learning_rate": 6e-3, "loss": "weighted_ce", "site_fraction": 0.3}


def margins(seed: int, folder: Path, threads: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    sequence, sites = promoter_genome(np.random.default_rng(3), 60_000, 300)
    fasta = write_fasta(folder / "g.fa", [("chrom", sequence, "circular")])
    label(fasta, folder, "g", sites=write_sites(folder / "sites.bed", sites), progress=False)
    model_config, train_config = configs("cpu", {**SETTINGS, "seed": seed})
    train([GenomeInput("g", str(fasta), str(folder / "g.labels.track.npz"))], folder / "model", model_config,
          train_config, progress=False)
    main(["predict", "--model", str(folder / "model"), "--fasta", str(fasta), "--outdir", str(folder / "predict"),
          "--prefix", "g", "--attention-sites", str(folder / "g.labels.track.npz"), "--quiet", "--threads",
          str(threads)])
    main(["motifs", "--genome", "g", str(fasta), str(folder / "predict" / "g.attention.npz"), "--database",
          str(write_planted_database(folder / "known.meme")), "--decoy", str(DECOY), "--outdir", str(folder / "m"),
          "--prefix", "m", "--quiet"])
    heads = pd.read_csv(folder / "m" / "m.heads.tsv", sep="\t")
    lines = []
    for word in SIGMA70:
        matched = heads[(heads.reported == 1) & (heads.best_match == f"planted_{word}")]
        if not len(matched):
            lines.append(f"seed {seed} {word}: no reported motif matches it")
            continue
        best = matched.sort_values("best_match_q").iloc[0]
        sites, controls = best.sites_with / best.sites, best.controls_with / best.controls
        lines.append(f"seed {seed} {word}: {len(matched)} matched motif(s); best: sites {sites:.3f}, controls "
                     f"{controls:.3f}, Tomtom q {best.best_match_q:.2g}")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--folder", type=Path, required=True)
    args = parser.parse_args()
    for seed in args.seeds:
        print("\n".join(margins(seed, args.folder / f"seed{seed}", args.threads)), flush=True)
