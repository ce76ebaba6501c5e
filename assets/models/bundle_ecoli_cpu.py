"""Make the bundled model ``ecoli-cpu`` (``pygenome/data/models/ecoli-cpu``) from a run of the demo.

The model is the demo's: the ``cpu`` preset trained by ``pygenome demo`` on E. coli K-12 MG1655 labelled from dRNA-seq
alignments simulated from the 2,672 TSS of Thomason et al. (2015), seed 1. The folder holds the model folder's files
(weights, config with its held-out regions and calibrated site calling, metrics, timing) and the demo's evaluation
of it on the held-out 20 % (beside the -10 box scan). Run from the repository root::

    pygenome demo --outdir results/demo
    python assets/models/bundle_ecoli_cpu.py results/demo

The demo trains the same model again (bit for bit on a CPU with the same PyTorch; tests/pipeline/test_demo.py checks
it), so the bundled one is reproducible from the repository.
"""

import shutil
import sys
from pathlib import Path

from pygenome.io.layout import EVALUATE, TRAIN
from pygenome.io.package_data import MODELS
from pygenome.pipeline.demo import GENOME_ID

NAME = "ecoli-cpu"
KEPT_EVALUATION = ("evaluation", "curves")


def main(demo: Path) -> None:
    target = MODELS / NAME
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for output in TRAIN:
        shutil.copyfile(demo / "train" / GENOME_ID / output.pattern, target / output.pattern)
    for output in EVALUATE:
        if output.name in KEPT_EVALUATION:
            shutil.copyfile(demo / "evaluate" / GENOME_ID / output.pattern, target / output.pattern)
    size = sum(path.stat().st_size for path in target.iterdir())
    print(f"{target}: {', '.join(sorted(p.name for p in target.iterdir()))} ({size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
