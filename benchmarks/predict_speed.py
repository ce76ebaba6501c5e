"""Benchmark: `pygenome predict` over a whole genome (both strands), wall time and peak memory.

Writes a model folder with the chosen preset's architecture and random weights (throughput does not depend on the
weights), then runs ``pygenome predict`` on the genome under GNU time. Usage::

    python benchmarks/predict_speed.py --preset paper --threads 2            # E. coli, 9.3 M positions
    python benchmarks/predict_speed.py --preset paper --device cuda
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from pygenome.io.genome import read_genome
from pygenome.model.transformer import Transformer
from pygenome.steps.train import configs

DEFAULT_GENOME = Path(__file__).resolve().parents[1] / "assets" / "demo" / "NC_000913.3.fa.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--genome", type=Path, default=DEFAULT_GENOME)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--attention-sites", help="also extract attention at these sites (BED or label track)")
    args = parser.parse_args()
    if shutil.which("/usr/bin/time") is None:
        raise SystemExit("GNU time is not installed (Debian: apt-get install time)")
    work = Path(tempfile.mkdtemp(prefix="pygenome-predict-bench-"))
    model_config, _ = configs(args.preset)
    torch.manual_seed(0)
    model_dir = work / "model"
    model_dir.mkdir()
    save_file(Transformer(model_config).state_dict(), model_dir / "model.safetensors")
    (model_dir / "config.json").write_text(json.dumps({"model": {"type": "transformer", **model_config.as_dict()},
                                                       "data": [], "split": []}))
    command = [sys.executable, "-m", "pygenome", "predict", "--model", str(model_dir), "--fasta", str(args.genome),
               "--topology", "circular", "--outdir", str(work / "out"), "--prefix", "bench", "--quiet",
               "--threads", str(args.threads), "--device", args.device]
    if args.attention_sites:
        command += ["--attention-sites", args.attention_sites]
    report = work / "time.txt"
    subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(report), *command], check=True)
    seconds, kilobytes = report.read_text().split()[-2:]
    positions = 2 * sum(contig.length for contig in read_genome(args.genome).contigs)
    print(f"{args.preset} model, {positions:,} positions ({args.genome.name}, both strands), {args.device}, "
          f"{args.threads} threads: {float(seconds):.0f} s, {positions / float(seconds):,.0f} nt/s, "
          f"peak RSS {int(kilobytes) / 1024:,.0f} MiB")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
