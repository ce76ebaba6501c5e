"""pygenome: learn where things happen in prokaryotic genomes, and explain why.

Each pipeline step is a plain function in its own module (``pygenome.labels.label`` …), a ``pygenome <step>``
subcommand (``pygenome.cli``) and, in the Nextflow pipeline, one process.
"""

__version__ = "0.1.0"
