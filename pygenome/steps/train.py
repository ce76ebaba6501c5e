"""The train step: label tracks → a model directory, on one CPU, one GPU, or many GPUs on many nodes.

The same call runs alone or under ``torchrun`` (one process per GPU, or several CPU processes with gloo): each process
trains on its slice of every global batch (:class:`pygenome.model.windows.WindowSampler`), DistributedDataParallel
averages the gradients, and only rank 0 evaluates and writes. The global batch (``batch_size`` windows) does not change
with the number of processes, and the loss of a batch is a sum divided by a fixed count, so 1 process and N processes
follow the same loss curve.

A model directory holds:

- ``model.safetensors``: the weights of the best evaluation (by ``select_by`` on the validation set);
- ``config.json``: the architecture, the training settings, the data (genome ids, files, checksums, contigs), the
  held-out regions, the best step with its metrics, and ``site_calling``: the score threshold of best site-level F1
  on the validation regions, with its precision and recall there (:func:`pygenome.model.calibration.calibrate`),
  which ``pygenome predict`` calls sites at;
- ``metrics.json`` and ``metrics.tsv``: every evaluation (validation loss, ROC AUC and PR AUC over every position of
  the validation regions on both strands), and the test figures of the best weights;
- ``timing.json``: wall time and throughput (the one output that differs between identical runs);
- ``checkpoints/last.pt``: model, optimizer, progress and random state, written every ``checkpoint_every`` steps;
  ``resume`` continues from it and reaches the weights an uninterrupted run reaches (on CPU, bit for bit).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import math
import os
import pickle
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import save
from tqdm import tqdm

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.io.layout import TRAIN as TRAIN_OUTPUTS
from pygenome.io.outputs import atomic_outputs, folder_lock, write_json
from pygenome.model import build_model, config_class
from pygenome.model.calibration import calibrate
from pygenome.model.inference import autocast, autocast_dtype, pick_device, score_stretches
from pygenome.model.losses import LOSSES, loss_sum, mean_loss
from pygenome.model.metrics import average_precision, roc_auc
from pygenome.model.settings import check_types
from pygenome.model.splits import SETS, split_genome
from pygenome.model.windows import GenomeInput, Strand, WindowSampler, read_inputs, strands

SELECT_BY = ("pr_auc", "roc_auc", "loss")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; the defaults are the paper's regime (a GPU's work)."""

    steps: int = 85_000
    batch_size: int = 10  # windows per step, over all processes together
    segment_length: int = 512  # nt of each window that is trained on
    memory: bool = True  # give each window the memory of the context before it (a no-grad pass)
    learning_rate: float = 5e-4
    warmup_steps: int = 1000
    min_learning_rate: float = 1e-5
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    loss: str = "focal"
    focal_gamma: float = 0.8
    positive_weight: float = 100.0  # weighted_ce only
    site_fraction: float = 0.0  # windows placed over a site (else over a uniform position)
    eval_every: int = 2000
    patience: int = 10  # evaluations without improvement before stopping early; 0: never
    select_by: str = "pr_auc"
    checkpoint_every: int = 1000
    seed: int = 0
    split_mode: str = "auto"
    split_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
    split_seed: int = 0
    precision: str = "auto"  # "bf16" autocast on GPU, "fp32"; auto: bf16 on GPU, fp32 on CPU

    def __post_init__(self):
        positive = ("steps", "batch_size", "segment_length", "eval_every", "checkpoint_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise InputError(f"training config: {name} must be at least 1, not {getattr(self, name)}")
        if self.loss not in LOSSES:
            raise InputError(f"training config: loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        if self.select_by not in SELECT_BY:
            raise InputError(f"training config: select_by must be one of {', '.join(SELECT_BY)}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise InputError("training config: precision must be auto, bf16 or fp32")
        if not 0 <= self.site_fraction <= 1 or self.learning_rate <= 0:
            raise InputError("training config: site_fraction must be in [0, 1] and learning_rate positive")
        for name in ("warmup_steps", "patience", "weight_decay", "focal_gamma", "min_learning_rate"):
            if getattr(self, name) < 0:
                raise InputError(f"training config: {name} must be 0 or more, not {getattr(self, name)}")
        if self.grad_clip <= 0 or self.positive_weight <= 0:
            raise InputError("training config: grad_clip and positive_weight must be positive")
        if self.min_learning_rate > self.learning_rate:
            raise InputError("training config: min_learning_rate must not exceed learning_rate")
        object.__setattr__(self, "split_fractions", tuple(self.split_fractions))

    def as_dict(self) -> dict:
        return asdict(self)


# Named configurations: (model settings, training settings) over the defaults.
PRESETS = {
    "paper": ({}, {}),
    "cpu": ({"n_layers": 3, "n_heads": 6, "d_model": 32, "d_head": 16, "context": 64},
            {"steps": 1500, "batch_size": 16, "segment_length": 128, "memory": False, "learning_rate": 2e-3,
             "warmup_steps": 100, "loss": "weighted_ce", "site_fraction": 0.3, "eval_every": 300,
             "checkpoint_every": 300, "patience": 0}),
    "cnn": ({"type": "cnn"},  # the convolutional baseline (pygenome/model/cnn.py), the cpu preset's regime
            {"steps": 1500, "batch_size": 16, "segment_length": 128, "memory": True, "learning_rate": 2e-3,
             "warmup_steps": 100, "loss": "weighted_ce", "site_fraction": 0.3, "eval_every": 300,
             "checkpoint_every": 300, "patience": 0}),
}


def configs(preset: str = "cpu", overrides: dict | None = None) -> tuple:
    """The model and training configs of a preset with ``overrides`` (``{"model": {...}, "training": {...}}`` or
    flat ``{name: value}``, each name looked up in both configs)."""
    if preset not in PRESETS:
        raise InputError(f"preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    model_values, train_values = (dict(values) for values in PRESETS[preset])
    overrides = dict(overrides or {})
    model_values.update(overrides.pop("model", {}))
    train_values.update(overrides.pop("training", {}))
    model_class = config_class(model_values.pop("type", "transformer"))
    model_names = {f.name for f in fields(model_class)}
    train_names = {f.name for f in fields(TrainConfig)}
    for name, value in overrides.items():
        if name in model_names:
            model_values[name] = value
        elif name in train_names:
            train_values[name] = value
        else:
            raise InputError(f"unknown setting {name!r}; model settings: {', '.join(sorted(model_names))}; "
                             f"training settings: {', '.join(sorted(train_names))}")
    unknown = set(train_values) - train_names
    if unknown:
        raise InputError(f"training config: unknown setting(s) {', '.join(sorted(unknown))}")
    check_types(TrainConfig, train_values, "training config")
    return model_class.from_dict(model_values), TrainConfig(**train_values)


@dataclass
class Progress:
    """What a checkpoint carries besides weights and optimizer."""

    step: int = 0
    best_score: float | None = None
    best_step: int | None = None
    evaluations_without_improvement: int = 0
    history: list = field(default_factory=list)
    losses_since_evaluation: list = field(default_factory=list)


def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up to ``learning_rate`` over ``warmup_steps``, then cosine decay to ``min_learning_rate``."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    span = max(config.steps - config.warmup_steps, 1)
    cosine = 0.5 * (1 + math.cos(math.pi * min(step - config.warmup_steps, span) / span))
    return config.min_learning_rate + (config.learning_rate - config.min_learning_rate) * cosine


def train(inputs: list[GenomeInput], outdir, model_config, train_config: TrainConfig,
          resume: bool = False, device: str = "auto", progress: bool = True) -> dict:
    """Train a model on ``inputs`` into ``outdir``; returns the final metrics (rank 0; other ranks return {})."""
    outdir = Path(outdir)
    rank, world, device = _start_distributed(device)
    try:
        with contextlib.ExitStack() as held:
            return _train(inputs, outdir, model_config, train_config, resume, device, progress, rank, world, held)
    finally:
        if world > 1:
            dist.destroy_process_group()


def _train(inputs, outdir, model_config, train_config, resume, device, progress, rank, world, held) -> dict:
    """Check the inputs, claim the folder, build (or resume) the model and run the loop; the outputs on rank 0."""
    if train_config.batch_size % world:
        raise InputError(f"batch_size {train_config.batch_size} must be a multiple of the number of processes "
                         f"({world}), so that every process trains on as many windows")
    loaded, regions, strand_list, sampler = _training_data(inputs, model_config, train_config)
    if rank == 0:  # one trainer per folder (the processes of one training are one trainer), from here on
        held.enter_context(folder_lock(outdir / ".pygenome.lock", f"{outdir} is in use by another training"))
    checkpoint_path = outdir / "checkpoints" / "last.pt"
    if not resume and ((outdir / "model.safetensors").exists() or checkpoint_path.exists()):
        raise InputError(f"{outdir}: already holds a model or checkpoint; pass --resume to continue it, or choose "
                         "another output folder (nothing was overwritten)")
    record = _record(loaded, regions, strand_list, model_config, train_config)
    torch.manual_seed(train_config.seed + rank)
    model = build_model(model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train_config.learning_rate,
                                  weight_decay=train_config.weight_decay)
    state, best_weights = Progress(), None
    if resume:
        state, best_weights = _load_checkpoint(checkpoint_path, record, model, optimizer, device)
        if _finished(state, train_config) and (outdir / "model.safetensors").exists():
            raise InputError(f"{outdir}: training already finished at step {state.step}; nothing to resume")
    network = model if world == 1 else torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)
    loop = Loop(model, network, optimizer, strand_list, sampler, device,
                autocast_dtype(train_config.precision, device), train_config, rank, world, checkpoint_path, record)
    best_weights, timing = _run_loop(loop, state, best_weights, progress)
    if rank != 0:
        return {}
    return _finish(outdir, record, model, strand_list, state, best_weights, device, train_config, loop.precision,
                   timing)


def _training_data(inputs, model_config, train_config):
    """The label tracks read, the held-out regions drawn, the strands and the window sampler: ``(loaded, regions,
    strand_list, sampler)``."""
    loaded = read_inputs(inputs)
    lengths = {e["input"].id: max(e["track"].contig_info(n)["length"] for n in e["track"].arrays) for e in loaded}
    if max(lengths.values()) < model_config.memory_length:
        raise InputError(f"the longest contig ({max(lengths.values()):,} nt) is shorter than the context the model "
                         f"reads ({model_config.memory_length} nt); train on longer contigs or a smaller context")
    regions = []
    for entry in loaded:
        contigs = [entry["track"].contig_info(name) for name in entry["track"].arrays]
        regions += split_genome(entry["input"].id, contigs, train_config.split_fractions, train_config.split_seed,
                                train_config.split_mode)
    strand_list = strands(loaded, regions)
    memory = model_config.memory_length if train_config.memory else 0
    sampler = WindowSampler(strand_list, train_config.segment_length, memory, model_config.shift,
                            train_config.site_fraction)  # refuses a training region without positives
    validation = SETS.index("validation")
    if not any(s.labels[s.sets == validation].any() for s in strand_list):
        raise InputError("no positive labels in the validation region of any genome: the model cannot be selected; "
                         "change split_seed or split_fractions")
    return loaded, regions, strand_list, sampler


def _record(loaded, regions, strand_list, model_config, train_config) -> dict:
    """The model's ``config.json`` before training: version, model and training settings, data and split."""
    return {
        "pygenome": __version__,
        "model": {"type": model_config.kind, **model_config.as_dict()},
        "training": train_config.as_dict(),
        "data": [{"id": e["input"].id, "fasta": Path(e["input"].fasta).name, "labels": Path(e["input"].labels).name,
                  "genome_checksum": e["genome"].checksum, "contigs": [e["track"].contig_info(n)
                                                                       for n in e["track"].arrays],
                  "training_sites": int(sum(s.labels[s.sets == 0].sum() for s in strand_list
                                            if s.genome == e["input"].id))} for e in loaded],
        "split": regions,
    }


@dataclass(frozen=True)
class Loop:
    """What every step of one training reads (this process's part of it)."""

    model: torch.nn.Module
    network: torch.nn.Module  # the model, or its DistributedDataParallel wrapper
    optimizer: torch.optim.Optimizer
    strands: list
    sampler: WindowSampler
    device: torch.device
    precision: torch.dtype | None  # the autocast dtype, None for fp32
    config: TrainConfig
    rank: int
    world: int
    checkpoint_path: Path
    record: dict


def _finished(state: Progress, config: TrainConfig) -> bool:
    return state.step >= config.steps or _patience_spent(state, config)


def _patience_spent(state: Progress, config: TrainConfig) -> bool:
    return bool(config.patience) and state.evaluations_without_improvement >= config.patience


def _run_loop(loop: Loop, state: Progress, best_weights, progress: bool):
    """Train from ``state`` to the last step or early stop: ``(best_weights, timing)``; ``state`` is updated."""
    config = loop.config
    memory = loop.sampler.memory
    part = slice(loop.rank * config.batch_size // loop.world, (loop.rank + 1) * config.batch_size // loop.world)
    nt_per_step = config.batch_size * config.segment_length
    bar = tqdm(total=config.steps, initial=state.step, desc="training", unit=" steps",
               disable=not (progress and loop.rank == 0), mininterval=1.0)
    stop = _patience_spent(state, config)
    started, steps_timed, run_started = time.perf_counter(), 0, time.perf_counter()
    steps_at_start = state.step
    while state.step < config.steps and not stop:
        tokens, targets = (torch.from_numpy(a).to(loop.device) for a in loop.sampler.batch(
            config.seed, state.step, config.batch_size, part))
        try:
            global_loss = _step(loop, state, tokens, targets, memory)
        except InputError:
            bar.close()
            raise
        state.losses_since_evaluation.append(global_loss)
        bar.update(1)
        steps_timed += 1
        speed = steps_timed * nt_per_step / (time.perf_counter() - started)
        bar.set_postfix(loss=f"{global_loss:.4g}", nt_s=f"{speed:,.0f}", refresh=False)
        if state.step % config.eval_every == 0 or state.step == config.steps:
            if loop.rank == 0:
                best_weights = _evaluate(loop, state, best_weights, bar)
                stop = _patience_spent(state, config)
            stop = _broadcast_flag(stop, loop.world, loop.device)
            state.losses_since_evaluation = []
            started, steps_timed = time.perf_counter(), 0
        if loop.rank == 0 and (state.step % config.checkpoint_every == 0 or state.step == config.steps or stop):
            _save_checkpoint(loop.checkpoint_path, loop.record, loop.model, loop.optimizer, state, best_weights)
        if loop.world > 1:
            dist.barrier()
    bar.close()
    seconds = time.perf_counter() - run_started
    timing = {"seconds": seconds, "steps": state.step - steps_at_start, "processes": loop.world,
              "device": str(loop.device), "nt_per_second": (state.step - steps_at_start) * nt_per_step / seconds}
    return best_weights, timing


def _step(loop: Loop, state: Progress, tokens, targets, memory: int) -> float:
    """One optimisation step on this process's windows (their memory first, without gradients); the loss over all
    processes. A loss or gradient norm that is not finite stops the training (InputError) before the update."""
    config, model = loop.config, loop.model
    for group in loop.optimizer.param_groups:
        group["lr"] = learning_rate(config, state.step)
    model.train()
    context = None
    if memory:
        with torch.no_grad(), autocast(loop.device.type, loop.precision):
            context = model(tokens[:, :memory])[1]
    with autocast(loop.device.type, loop.precision):
        logits = loop.network(tokens[:, memory:], context)[0]
    loss = loss_sum(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), config) / targets.numel()
    global_loss = _mean_over_processes(loss.detach(), loop.world)
    if math.isfinite(global_loss):
        loop.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip))
    if not math.isfinite(global_loss) or not math.isfinite(norm):
        what = f"loss became {global_loss}" if not math.isfinite(global_loss) else f"gradient norm became {norm}"
        path = loop.checkpoint_path
        kept = f"the last good checkpoint (step {_checkpoint_step(path)}) is kept in {path}" if path.exists() \
            else "no checkpoint was written yet"
        raise InputError(f"the training {what} at step {state.step + 1}; {kept}. Start again in a new folder "
                         "with a lower learning_rate or more warmup_steps")
    loop.optimizer.step()
    state.step += 1
    return global_loss


def _evaluate(loop: Loop, state: Progress, best_weights, bar):
    """Score the validation set, add it to the history and keep the weights when they are the best so far (by
    ``select_by``); returns the best weights."""
    config = loop.config
    scores = evaluate_set(loop.model, loop.strands, "validation", loop.device, config, loop.precision)
    entry = {"step": state.step, "learning_rate": learning_rate(config, state.step - 1),
             "train_loss": float(np.mean(state.losses_since_evaluation)),
             **{f"validation_{k}": v for k, v in scores.items()}}
    state.history.append(entry)
    score = -scores["loss"] if config.select_by == "loss" else scores[config.select_by]
    if state.best_score is None or score > state.best_score:
        state.best_score, state.best_step = score, state.step
        state.evaluations_without_improvement = 0
        best_weights = {k: v.detach().clone() for k, v in loop.model.state_dict().items()}
    else:
        state.evaluations_without_improvement += 1
    bar.write(f"step {state.step}: train loss {entry['train_loss']:.4g}, validation loss {scores['loss']:.4g}, "
              f"ROC AUC {scores['roc_auc']:.4f}, PR AUC {scores['pr_auc']:.4f}")
    return best_weights


def evaluate_set(model, strand_list: list[Strand], which: str, device, config: TrainConfig, autocast=None) -> dict:
    """Loss, ROC AUC and PR AUC over every position of the ``which`` set on both strands of every genome."""
    stretches = set_scores(model, strand_list, which, device, autocast)
    labels = np.concatenate([labels for _, labels in stretches]).astype(bool)
    scores = np.concatenate([scores for scores, _ in stretches]).astype(np.float64)
    return {"loss": mean_loss(scores, labels, config), "roc_auc": roc_auc(labels, scores),
            "pr_auc": average_precision(labels, scores), "positions": int(labels.size), "positives": int(labels.sum())}


def set_scores(model, strand_list: list[Strand], which: str, device, autocast=None) -> list[tuple]:
    """``(scores (n,) float32, labels (n,))`` of each stretch of the ``which`` set, strand by strand."""
    model.eval()
    code = SETS.index(which)
    stretches = []
    for strand in strand_list:
        inside = np.concatenate(([False], strand.sets == code, [False]))
        edges = np.flatnonzero(np.diff(inside.astype(np.int8)))
        bounds = list(zip(edges[::2].tolist(), edges[1::2].tolist()))
        if bounds:
            scored = score_stretches(model, strand.codes, strand.circular, bounds, device, autocast_dtype=autocast)
            stretches += [(scores, strand.labels[start:end]) for (start, end), scores in zip(bounds, scored)]
    return stretches


def _finish(outdir, record, model, strand_list, state, best_weights, device, config, autocast, timing) -> dict:
    model.load_state_dict(best_weights)
    test = evaluate_set(model, strand_list, "test", device, config, autocast) if any(
        (s.sets == SETS.index("test")).any() for s in strand_list) else None
    site_calling = calibrate(set_scores(model, strand_list, "validation", device, autocast))
    best = next(entry for entry in state.history if entry["step"] == state.best_step)
    metrics = {"best_step": state.best_step, "steps": state.step, "best_validation": best,
               "test": test, "site_calling": site_calling, "history": state.history}
    record = {**record, "best_step": state.best_step, "metrics": {"validation": best, "test": test},
              "site_calling": site_calling}
    names = [output.pattern for output in TRAIN_OUTPUTS]
    with atomic_outputs(*(outdir / name for name in names)) as (weights, config_json, metrics_json, metrics_tsv,
                                                                 timing_json):
        write_json(timing_json, timing, indent=2)
        weights.write_bytes(save({k: v.detach().float().cpu().contiguous() for k, v in best_weights.items()},
                                 metadata={"pygenome": __version__}))  # one key: a map's keys come in any order
        write_json(config_json, record, indent=2)
        write_json(metrics_json, metrics, indent=2)
        columns = list(state.history[0])
        metrics_tsv.write_text("\t".join(columns) + "\n" + "".join(
            "\t".join(f"{entry[c]:.6g}" if isinstance(entry[c], float) else str(entry[c]) for c in columns) + "\n"
            for entry in state.history))
    return metrics


def _save_checkpoint(path: Path, record, model, optimizer, state: Progress, best_weights) -> None:
    cuda_rng = torch.cuda.get_rng_state() if torch.cuda.is_available() else torch.zeros(0, dtype=torch.uint8)
    payload = {"record": json.dumps(record, sort_keys=True), "model": model.state_dict(),
               "optimizer": optimizer.state_dict(), "progress": json.dumps(asdict(state)),
               "best_weights": best_weights, "rng": torch.get_rng_state(), "cuda_rng": cuda_rng}
    buffer = io.BytesIO()  # written by Python, so a full disk is an OSError (torch.save's own says "unexpected pos")
    torch.save(payload, buffer)
    with atomic_outputs(path) as (temp,):
        temp.write_bytes(buffer.getbuffer())


def _read_checkpoint(path: Path, device="cpu") -> dict:
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
        json.loads(payload["progress"])
        return payload
    except (RuntimeError, EOFError, KeyError, TypeError, ValueError, pickle.UnpicklingError) as error:
        raise InputError(f"{path}: not a readable checkpoint of pygenome train ({type(error).__name__}: "
                         f"{str(error).split('. ')[0]}); delete it to start the training "
                         "again, or restore it") from error


def _checkpoint_step(path: Path) -> int:
    return json.loads(_read_checkpoint(path)["progress"])["step"]


def _load_checkpoint(path: Path, record, model, optimizer, device):
    if not path.exists():
        raise InputError(f"{path}: no checkpoint to resume from; start without --resume")
    payload = _read_checkpoint(path, device)
    saved = json.loads(payload["record"])
    current = json.loads(json.dumps(record, sort_keys=True))
    if saved != current:
        differences = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        raise InputError(f"{path}: a checkpoint of another configuration (it differs in: {', '.join(differences)}); "
                         "resume with the settings and data it was made with, or start in another folder")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["rng"].cpu())
    if torch.cuda.is_available() and payload["cuda_rng"].numel():
        torch.cuda.set_rng_state(payload["cuda_rng"].cpu())
    return Progress(**json.loads(payload["progress"])), payload["best_weights"]


def _start_distributed(device: str):
    """``(rank, world size, torch.device)``; starts the process group when run by torchrun with several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = pick_device(device).type == "cuda"
    if world > 1:  # rank 0 evaluates while the others wait: allow long evaluations
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=datetime.timedelta(hours=2))
    rank = dist.get_rank() if world > 1 else 0
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def _mean_over_processes(value: torch.Tensor, world: int) -> float:
    if world > 1:
        value = value.clone()
        dist.all_reduce(value)
        value /= world
    return float(value)


def _broadcast_flag(flag: bool, world: int, device) -> bool:
    if world == 1:
        return flag
    tensor = torch.tensor([int(flag)], device=device)
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())

