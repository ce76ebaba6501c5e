"""pygenome: learn where things happen in prokaryotic genomes, and explain why.

Each pipeline step is a plain function in its own module (``pygenome.labels.label`` …), a ``pygenome <step>``
subcommand (``pygenome.cli``) and, in the Nextflow pipeline, one process.
"""

import os

__version__ = "0.1.0"

# Intel MKL picks kernels by the memory alignment of the arrays it is given, so the same training could give other
# float sums in another process (seen: a run resumed in-process differed from the same run started fresh). Its
# strict conditional-numerical-reproducibility mode makes results independent of alignment; it must be set before
# PyTorch loads MKL, and a user's own setting wins.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
