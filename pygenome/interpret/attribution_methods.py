"""The attribution methods and reference sequences by name: torch-free, so that ``pygenome --help`` lists them without
loading PyTorch (:mod:`pygenome.interpret.attribution` implements them)."""

METHODS = ("saliency", "ism", "integrated_gradients")
REFERENCES = ("dinucleotide_shuffle", "shuffle", "uniform")
