"""Benchmark: 5'-end counting of `pygenome label` against bedtools and samtools on one simulated BAM.

Makes a coordinate-sorted, indexed BAM of single-end reads sampled uniformly from both strands of a genome (E. coli
by default), then runs in one go, each as its own process:

- ``pygenome label --bam … --signal five_prime`` (both strands, site calling and every output included);
- ``bedtools genomecov -5 -d -strand +`` and ``-strand -`` (the field's tool for the same counts), summed;
- ``samtools view -c`` (reads every record and nothing else: the I/O floor).

and prints wall time, reads per second and peak resident memory (of the largest process) as a Markdown table.
Needs samtools, bedtools and GNU time (Debian packages samtools, bedtools, time). Usage::

    python benchmarks/label_speed.py --reads 5000000 --threads 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from pygenome.io.genome import decode, read_genome

DEFAULT_GENOME = Path(__file__).resolve().parents[1] / "assets" / "demo" / "NC_000913.3.fa.gz"


def make_bam(genome_path: Path, reads: int, read_length: int, out: Path, seed: int = 0) -> Path:
    """A sorted, indexed BAM of ``reads`` reads of ``read_length`` nt sampled from the genome's first contig."""
    genome = read_genome(genome_path)
    contig = genome.contigs[0]
    sequence = decode(genome.codes[contig.name])
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(0, contig.length - read_length, reads))
    flags = np.where(rng.random(reads) < 0.5, 16, 0)
    qualities = rng.integers(53, 74, size=(4096, read_length), dtype=np.uint8).view(f"S{read_length}").ravel()
    command = ["samtools", "view", "-b", "-@", "2", "-o", str(out), "-"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, text=True) as samtools:
        samtools.stdin.write(f"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:{contig.name}\tLN:{contig.length}\n")
        for chunk in range(0, reads, 100_000):
            lines = [
                f"r{i}\t{flags[i]}\t{contig.name}\t{starts[i] + 1}\t60\t{read_length}M\t*\t0\t0\t"
                f"{sequence[starts[i]:starts[i] + read_length]}\t{qualities[i % 4096].decode()}\n"
                for i in range(chunk, min(chunk + 100_000, reads))]
            samtools.stdin.write("".join(lines))
    subprocess.run(["samtools", "index", str(out)], check=True)
    return out


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command, as GNU time reports them."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", report.name, *command], check=True,
                       stdout=subprocess.DEVNULL)
        seconds, kilobytes = report.read().split()[-2:]
    return float(seconds), int(kilobytes) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genome", type=Path, default=DEFAULT_GENOME)
    parser.add_argument("--reads", type=int, default=5_000_000)
    parser.add_argument("--read-length", type=int, default=75)
    parser.add_argument("--threads", type=int, default=2, help="pygenome label --threads")
    parser.add_argument("--workdir", type=Path, help="keep the BAM here (default: a temporary folder)")
    args = parser.parse_args()
    for tool in ("samtools", "bedtools", "/usr/bin/time"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install samtools bedtools time)")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pygenome-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bam = workdir / f"reads_{args.reads}.bam"
    if not bam.exists():
        print(f"making {bam} ({args.reads:,} reads)…", file=sys.stderr)
        make_bam(args.genome, args.reads, args.read_length, bam)
    pygenome = [sys.executable, "-m", "pygenome", "label", "--fasta", str(args.genome), "--topology", "circular",
                "--bam", str(bam), "--outdir", str(workdir / "out"), "--prefix", "bench", "--quiet",
                "--threads", str(args.threads)]
    measure(pygenome)  # warm-up: numba's compiled kernel is cached on first use
    rows = [("pygenome label (5' ends, both strands, sites, outputs)", *measure(pygenome))]
    plus = measure(["bedtools", "genomecov", "-5", "-d", "-strand", "+", "-ibam", str(bam)])
    minus = measure(["bedtools", "genomecov", "-5", "-d", "-strand", "-", "-ibam", str(bam)])
    rows.append(("bedtools genomecov -5 -d, + and - strands", plus[0] + minus[0], max(plus[1], minus[1])))
    rows.append(("samtools view -c (I/O floor)", *measure(["samtools", "view", "-c", str(bam)])))
    print(f"\n{args.reads:,} reads of {args.read_length} nt, BAM {bam.stat().st_size / 2**20:.0f} MiB, "
          f"{os.cpu_count()} CPUs\n")
    print("| command | wall (s) | reads/s | peak RSS (MiB) |\n|---|---:|---:|---:|")
    for name, seconds, memory in rows:
        print(f"| {name} | {seconds:.2f} | {args.reads / seconds:,.0f} | {memory:.0f} |")
    ours = rows[0][1]
    print(f"\npygenome / bedtools = {ours / rows[1][1]:.2f}; pygenome / samtools view -c = {ours / rows[2][1]:.2f}")


if __name__ == "__main__":
    main()
