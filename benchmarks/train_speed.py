"""Benchmark: training throughput (nt/s) of the transformer, as `pygenome train` runs a step.

A step is what the training loop does: a no-grad pass over the window's memory (when the regime uses memory), the
forward and backward pass over the segment, gradient clipping and an AdamW update. Tokens are random (throughput does
not depend on them). Reports the median of ``--repeats`` timed steps after ``--warmup`` untimed ones, for the chosen
preset on the chosen device. Usage::

    python benchmarks/train_speed.py --preset paper --batch 10 --threads 2
    python benchmarks/train_speed.py --preset paper --batch 64 --device cuda --precision bf16
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from pygenome.model.losses import focal_loss_sum
from pygenome.model.transformer import Transformer
from pygenome.steps.train import configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--batch", type=int, help="windows per step (default: the preset's)")
    parser.add_argument("--memory", choices=("preset", "on", "off"), default="preset")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model_config, train_config = configs(args.preset)
    batch = args.batch or train_config.batch_size
    memory_on = train_config.memory if args.memory == "preset" else args.memory == "on"
    memory = model_config.memory_length if memory_on else 0
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = Transformer(model_config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    dtype = torch.bfloat16 if args.precision == "bf16" else None
    tokens = torch.randint(0, 4, (batch, memory + train_config.segment_length), device=device)
    targets = torch.randint(0, 2, (batch, train_config.segment_length), device=device)

    def step():
        context = None
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            if memory:
                with torch.no_grad():
                    context = model(tokens[:, :memory])[1]
            logits = model(tokens[:, memory:], context)[0]
        loss = focal_loss_sum(logits.reshape(-1, 2), targets.reshape(-1), 0.8) / targets.numel()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    nt = batch * train_config.segment_length
    memory_note = f", memory {memory} nt" if memory else ", no memory"
    print(f"{args.preset}: batch {batch} x {train_config.segment_length} nt{memory_note}, {args.precision}, "
          f"{args.device} ({args.threads} threads): {seconds * 1000:.0f} ms/step, {nt / seconds:,.0f} nt/s")
    if device.type == "cuda":
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
