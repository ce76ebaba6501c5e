"""pygenome: learn where things happen in prokaryotic genomes, and explain why.

The package is in layers (docs/architecture.md): ``pygenome.io`` (formats), ``pygenome.model``,
``pygenome.interpret``, ``pygenome.steps`` (one module per step: a plain function, a ``pygenome <step>`` subcommand
and, in the Nextflow pipeline, one process, all of the same name) and ``pygenome.pipeline``. For notebooks, the
steps and the readers are here (docs/api.md)::

    import pygenome
    genome = pygenome.read_genome("genome.fa")
    model, record = pygenome.load_model("results/train/ecoli")
    pygenome.predict("results/train/ecoli", "genome.fa", "out", "ecoli")
    scores = pygenome.load_track("out/ecoli.scores.track.npz")

They load on first use, so ``import pygenome`` (and ``pygenome --help``) stays instant.
"""

import importlib as _importlib
import os as _os

__version__ = "0.1.0"

# Intel MKL picks kernels by the memory alignment of the arrays it is given, so the same training could give other
# float sums in another process (seen: a run resumed in-process differed from the same run started fresh). Its
# strict conditional-numerical-reproducibility mode makes results independent of alignment; it must be set before
# PyTorch loads MKL, and a user's own setting wins.
_os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

_API = {  # name → the module that defines it
    # the steps
    "label": "pygenome.steps.label", "train": "pygenome.steps.train", "configs": "pygenome.steps.train",
    "predict": "pygenome.steps.predict", "baseline": "pygenome.steps.baseline", "evaluate": "pygenome.steps.evaluate",
    "motifs": "pygenome.steps.motifs", "attribute": "pygenome.steps.attribute", "gia": "pygenome.steps.gia",
    "filters": "pygenome.steps.filters", "survey": "pygenome.steps.survey", "report": "pygenome.steps.report",
    "classify": "pygenome.steps.classify",
    "run": "pygenome.pipeline.run",
    "read_params": "pygenome.pipeline.plan", "demo": "pygenome.pipeline.demo",
    # the readers
    "read_genome": "pygenome.io.genome", "load_track": "pygenome.io.tracks", "read_sites_bed": "pygenome.io.sites",
    "read_annotation": "pygenome.io.annotation",
    "load_attention": "pygenome.io.attention", "read_motifs": "pygenome.io.motifs",
    "read_samplesheet": "pygenome.io.samplesheet", "read_record": "pygenome.io.model_store",
    "load_model": "pygenome.model", "GenomeInput": "pygenome.model.windows",
    # the one error a user should see
    "InputError": "pygenome.errors",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'pygenome' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
