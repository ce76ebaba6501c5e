"""The attribution methods and reference sequences by name: torch-free, so that ``pygenome --help`` lists them without
loading PyTorch (:mod:`pygenome.interpret.attribution` implements them). ``DEFAULT_METHODS``: those every model
supports (``deep_lift_shap`` only the cnn)."""

METHODS = ("saliency", "ism", "integrated_gradients", "deep_lift_shap")
DEFAULT_METHODS = ("saliency", "ism", "integrated_gradients")
REFERENCES = ("dinucleotide_shuffle", "shuffle", "uniform")
