"""Models: each is a ``torch.nn.Module`` built from a frozen config dataclass that is saved beside its weights."""
