"""The convolutional baseline: causal and streamable like the transformer, trained by the same `pygenome train`
(--preset cnn), predicted and evaluated the same way, explained by attribution (its filters:
tests/steps/test_filters.py); no attention."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from pygenome.cli import main
from pygenome.io.genome import one_hot
from pygenome.model import build_model, config_from_record
from pygenome.model.cnn import CNN, CNNConfig


@pytest.fixture(scope="module")
def cnn_model(trained_cnn):
    return trained_cnn


def test_segments_with_memory_give_the_whole_forward_and_outputs_never_read_downstream():
    torch.manual_seed(0)
    model = CNN(CNNConfig(n_filters=8, filter_width=9, pool=3, n_channels=8, conv_width=5, dilations=(2, 4))).eval()
    tokens = torch.randint(0, 5, (2, 300))
    with torch.no_grad():
        whole = model(tokens)[0]
        memory, parts = None, []
        for start in range(0, 300, 70):
            logits, memory, _ = model(tokens[:, start:start + 70], memory)
            parts.append(logits)
        torch.testing.assert_close(torch.cat(parts, dim=1), whole)
        changed = tokens.clone()
        changed[:, 200:] = (changed[:, 200:] + 1) % 4
        torch.testing.assert_close(model(changed)[0][:, :200], whole[:, :200])
        x = torch.from_numpy(one_hot(tokens.numpy()))
        torch.testing.assert_close(model.forward_embedded(model.embed_one_hot(x))[0], whole)
    assert model.config.receptive_field == 8 + 2 + 4 * 2 + 4 * 4


def test_the_config_round_trips_through_the_saved_record(cnn_model):
    record = json.loads((cnn_model / "model" / "config.json").read_text())
    assert record["model"]["type"] == "cnn"
    assert isinstance(build_model(config_from_record(record["model"])), CNN)


def test_trained_with_pygenome_train_it_predicts_and_evaluates_like_the_transformer(cnn_model, trained, capsys):
    model, fasta, labels = str(cnn_model / "model"), str(trained["fasta"]), str(trained["labels"])
    assert main(["predict", "--model", model, "--fasta", fasta, "--topology", "circular", "--outdir",
                 str(cnn_model / "predict"), "--prefix", "g", "--quiet"]) == 0
    assert main(["evaluate", "--model", model, "--predictions", str(cnn_model / "predict" / "g.scores.track.npz"),
                 "--labels", labels, "--outdir", str(cnn_model / "evaluate")]) == 0
    figures = json.loads((cnn_model / "evaluate" / "evaluation.json").read_text())
    assert figures["overall"]["roc_auc"] > 0.95 and figures["overall"]["pr_auc"] > 0.5
    assert main(["predict", "--model", model, "--fasta", fasta, "--outdir", str(cnn_model / "no"), "--prefix", "g",
                 "--attention-sites", labels, "--quiet"]) == 2
    assert "has no attention" in capsys.readouterr().err and not (cnn_model / "no").exists()


def test_its_attributions_give_both_planted_boxes(cnn_model, trained):
    assert main(["attribute", "--model", str(cnn_model / "model"), "--fasta", str(trained["fasta"]), "--topology",
                 "circular", "--sites", str(trained["labels"]), "--max-sites", "80", "--method", "saliency",
                 "--outdir", str(cnn_model / "attribute"), "--prefix", "g", "--quiet"]) == 0
    motifs = pd.read_csv(cnn_model / "attribute" / "g.motifs.tsv", sep="\t").dropna(subset=["motif"])
    for box, start, end in (("TTGACA", -35, -30), ("TATAAT", -12, -7)):  # each box, where it was planted
        assert any(box in row.consensus and start - 2 <= row.motif_start <= start and end <= row.motif_end <= end + 2
                   for row in motifs.itertuples()), motifs
    assert np.isfinite(motifs.excess).all()
