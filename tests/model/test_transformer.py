"""The transformer: its fused projection+convolution, both attention paths, causality, context and segment memory,
and streamed inference against the training path."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pygenome.errors import InputError
from pygenome.model.inference import score_stretches
from pygenome.model.transformer import Transformer, TransformerConfig

SMALL = TransformerConfig(n_layers=2, n_heads=3, d_model=16, d_head=8, conv_kernel=5, context=24, shift=4,
                          d_feed_forward=32)


def model(config=SMALL, seed=0):
    torch.manual_seed(seed)
    net = Transformer(config).double()
    for layer in net.layers:  # a non-zero positional bias, so that it is tested too
        torch.nn.init.normal_(layer.relative_bias, std=0.5)
    return net.eval()


def tokens(batch, length, seed=1):
    return torch.randint(0, 5, (batch, length), generator=torch.Generator().manual_seed(seed))


def reference_qkv(layer, x):
    """q, k, v as the paper describes them: project per head, then a causal Conv1d shared by the heads."""
    config = layer.config
    outputs = []
    for g in range(3):
        heads = []
        for h in range(config.n_heads):
            projected = x @ layer.projection[g, h].T  # (B, T, d_head)
            padded = F.pad(projected.transpose(1, 2), (config.conv_kernel - 1, 0))
            heads.append(F.conv1d(padded, layer.conv_weight[g], layer.conv_bias[g]).transpose(1, 2))
        outputs.append(torch.stack(heads, dim=1))  # (B, H, T, d_head)
    return outputs


def test_fused_projection_and_convolution_equal_the_paper_s_layers():
    net = model()
    layer = net.layers[0]
    x = net.embed(tokens(2, 40))
    q, k, v = reference_qkv(layer, x)
    _, weights = layer(x, None, need_weights=True)
    scores = (q @ k.transpose(-1, -2)) * SMALL.d_head ** -0.5
    distance = torch.arange(40)[:, None] - torch.arange(40)[None, :]
    bias = layer.relative_bias[:, distance.clamp(0, SMALL.context)]
    scores = (scores + bias).masked_fill((distance < 0) | (distance > SMALL.context), float("-inf"))
    torch.testing.assert_close(weights, scores.softmax(-1))


def test_sdpa_path_equals_explicit_attention_and_weights_do_not_change_the_prediction():
    net = model()
    x = tokens(3, 70)
    fast, _, none = net(x)
    explicit, _, attention = net(x, need_weights=True)
    assert none is None
    torch.testing.assert_close(fast, explicit, rtol=1e-9, atol=1e-9)
    assert len(attention) == SMALL.n_layers and attention[0].shape == (3, SMALL.n_heads, 70, 70)


def test_attention_rows_sum_to_one_over_the_keys_a_query_may_see():
    net = model()
    _, _, attention = net(tokens(2, 60), need_weights=True)
    for weights in attention:
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1], dtype=weights.dtype))
        distance = torch.arange(60)[:, None] - torch.arange(60)[None, :]
        hidden = (distance < 0) | (distance > SMALL.context)
        assert weights[..., hidden].abs().max() == 0


def test_outputs_never_depend_on_downstream_tokens():
    net = model()
    x = tokens(1, 50)
    changed = x.clone()
    changed[0, 30:] = (changed[0, 30:] + 1) % 4
    before, after = net(x)[0], net(changed)[0]
    torch.testing.assert_close(before[:, :30], after[:, :30])
    assert not torch.allclose(before[:, 30:], after[:, 30:])


def test_segment_memory_gives_the_full_forward():
    net = model()
    x = tokens(2, 150)
    full = net(x)[0]
    pieces, memory = [], None
    for start in range(0, 150, 37):  # segments shorter than the memory, and one left over
        logits, memory, _ = net(x[:, start:start + 37], memory)
        pieces.append(logits)
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=1e-9, atol=1e-9)
    assert memory[0].shape == (2, SMALL.memory_length, SMALL.d_model)


def test_training_mode_uses_the_blocked_path_and_matches_eval():
    net = model(TransformerConfig(n_layers=1, n_heads=2, d_model=8, d_head=4, context=300))
    x = tokens(1, 400)  # several query blocks, some keys out of context
    eval_out = net(x)[0]
    net.train()
    torch.testing.assert_close(net(x)[0], eval_out, rtol=1e-9, atol=1e-9)


def test_config_checks_and_round_trip():
    assert TransformerConfig.from_dict(SMALL.as_dict()) == SMALL
    with pytest.raises(InputError, match="unknown setting\\(s\\) heads"):
        TransformerConfig.from_dict({"heads": 4})
    with pytest.raises(InputError, match="n_layers must be at least 1"):
        TransformerConfig(n_layers=0)


@pytest.mark.parametrize("circular", [False, True])
def test_streamed_fast_path_scores_equal_the_explicit_path_and_repeat_bit_for_bit(circular):
    """The inference path (convolution, banded fused attention, batches side by side on the CPU's threads) against
    the written-out training path over one whole sequence, float32, the cpu preset's architecture."""
    config = TransformerConfig(n_layers=3, n_heads=6, d_model=32, d_head=16, context=64)
    net = model(config).float()
    codes = torch.randint(0, 5, (3000,), generator=torch.Generator().manual_seed(2)).numpy().astype(np.uint8)
    shift = config.shift
    sequence = np.concatenate([codes] * 3 if circular else [codes, np.full(shift, 4, np.uint8)])
    with torch.inference_mode():
        explicit = net.train()(torch.from_numpy(sequence.astype(np.int64))[None])[0].softmax(-1)[0, :, 1].numpy()
    explicit = explicit[3000 + shift:6000 + shift] if circular else explicit[shift:]
    threads = torch.get_num_threads()
    runs = [score_stretches(net.eval(), codes, circular, [(0, 3000), (1234, 2900)], stream_tokens=700,
                            batch_size=2) for _ in range(2)]
    assert torch.get_num_threads() == threads
    assert np.abs(runs[0][0] - explicit).max() <= 1e-5
    assert np.abs(runs[0][1] - explicit[1234:2900]).max() <= 1e-5
    assert all(np.array_equal(a, b) for a, b in zip(*runs))
