"""Benchmark: a survey of N label-free genomes with `pygenome run`, wall time and peak memory per step against N.

For each N, simulates N genomes (0.5 Mb by default, circular) with planted sigma70 promoters (one per 2 kb, both
strands) at GC spread evenly over 30-70 %, writes a samplesheet of label-free rows (``id,fasta,topology``) and runs
``pygenome run --model ecoli-cpu --threads 2 --quiet`` on it (a predict task per genome, then one motifs, one survey
and one report task). Per step it records the wall time summed over the step's tasks and the peak resident memory
(RSS) of its largest task (``pipeline/tasks.json``: ``seconds`` and ``peak_rss_mb`` of each task); in total, the
run's wall time and peak RSS (its own and its tasks', by ``wait4``) and the run's own overhead (wall time outside the
tasks: reading the samplesheet's genomes, the plan, hashing inputs, stamps). Then fits, per step, the growth
exponent of time and memory against total genome length (least squares of log against log over the Ns; 1 is
linear). Results go to a JSON file (runs of other Ns already in it are kept, so Ns can be run separately) and a
Markdown table is printed. Usage::

    python benchmarks/survey_scale.py --genomes 10 50 200 --threads 2 --output survey_scale.json
    python benchmarks/survey_scale.py --report survey_scale.json other.json      # the table of saved runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pygenome.io.package_data import SIGMA70_MINUS10
from pygenome.pipeline.simulate import promoter_genome, write_fasta

STEPS = ("predict", "motifs", "survey", "report")


def simulate(folder: Path, count: int, length: int, site_every: int, seed: int) -> Path:
    """``count`` genomes in ``folder`` and their samplesheet (label-free rows); returns the samplesheet's path."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for number, gc in enumerate(np.linspace(0.3, 0.7, count) if count > 1 else [0.5]):
        rng = np.random.default_rng([seed, count, number])
        sequence, _ = promoter_genome(rng, length, length // site_every, gc=float(gc))
        name = f"g{number:03d}_gc{round(100 * gc)}"
        write_fasta(folder / f"{name}.fa", [("chrom", sequence, "circular")])
        rows.append(f"{name},{name}.fa,circular")
    sheet = folder / "samplesheet.csv"
    sheet.write_text("id,fasta,topology\n" + "\n".join(rows) + "\n")
    return sheet


def run_survey(sheet: Path, outdir: Path, args) -> dict:
    """``pygenome run`` on ``sheet``; its wall time and peak RSS (wait4: the run and every task it waited for)."""
    command = [sys.executable, "-m", "pygenome", "run", "--samplesheet", str(sheet), "--outdir", str(outdir),
               "--model", args.model, "--threads", str(args.threads), "--quiet",
               *(["--database", *args.database] if args.database else [])]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"pygenome run failed (exit {process.returncode}): {' '.join(command)}")
    return {"wall_s": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def step_figures(outdir: Path) -> dict:
    """Per step: tasks, summed seconds, largest task's peak RSS, from ``pipeline/tasks.json``."""
    tasks = json.loads((outdir / "pipeline" / "tasks.json").read_text())
    steps = {}
    for task in tasks:
        step = steps.setdefault(task["key"].split("/")[0], {"tasks": 0, "seconds": 0.0, "peak_rss_mb": 0.0})
        step["tasks"] += 1
        step["seconds"] = round(step["seconds"] + task["seconds"], 1)
        step["peak_rss_mb"] = max(step["peak_rss_mb"], task.get("peak_rss_mb") or 0.0)
    return steps


def exponents(runs: list[dict]) -> dict:
    """Per step and in total: the slopes of log time and log memory against log total genome length."""
    runs = sorted(runs, key=lambda r: r["total_length"])
    if len({r["total_length"] for r in runs}) < 2:
        return {}
    x = np.log([r["total_length"] for r in runs])
    names = [step for step in STEPS if all(step in r["steps"] for r in runs)]
    figures = {step: ([r["steps"][step]["seconds"] for r in runs], [r["steps"][step]["peak_rss_mb"] for r in runs])
               for step in names}
    figures["total"] = ([r["wall_s"] for r in runs], [r["peak_rss_mb"] for r in runs])
    figures["run overhead"] = ([max(r["overhead_s"], 0.1) for r in runs], [r["peak_rss_mb"] for r in runs])

    def slope(values):
        return round(float(np.polyfit(x, np.log(np.maximum(values, 1e-3)), 1)[0]), 2)

    return {name: {"time": slope(t), "memory": slope(m) if name != "run overhead" else None}
            for name, (t, m) in figures.items()}


def table(results: dict) -> str:
    runs = sorted(results["runs"], key=lambda r: r["genomes"])
    lines = ["| genomes | total Mb | " + " | ".join(f"{s} s | {s} MiB" for s in STEPS) +
             " | run overhead s | total s | total peak MiB |",
             "|---:" * (3 + 2 * len(STEPS) + 2) + "|"]
    for r in runs:
        cells = [str(r["genomes"]), f"{r['total_length'] / 1e6:.1f}"]
        for step in STEPS:
            figures = r["steps"].get(step)
            cells += [f"{figures['seconds']:,.1f}", f"{figures['peak_rss_mb']:,.0f}"] if figures else ["", ""]
        cells += [f"{r['overhead_s']:,.1f}", f"{r['wall_s']:,.1f}", f"{r['peak_rss_mb']:,.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    slopes = results.get("exponents") or {}
    if slopes:
        lines += ["", "| growth exponent (log-log against total length) | time | memory |", "|---|---:|---:|"]
        lines += [f"| {name} | {s['time']} | {'' if s['memory'] is None else s['memory']} |"
                  for name, s in slopes.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genomes", type=int, nargs="+", default=[10, 50, 200], help="the Ns to run")
    parser.add_argument("--length", type=int, default=500_000, help="nt per genome")
    parser.add_argument("--site-every", type=int, default=2_000, help="one planted promoter per this many nt")
    parser.add_argument("--model", default="ecoli-cpu", help="a model folder or a bundled model's name")
    parser.add_argument("--database", nargs="*", default=[str(SIGMA70_MINUS10)], help="known motifs for the run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="where genomes and runs go (default: a temporary folder, "
                                                     "removed after each N)")
    parser.add_argument("--output", type=Path, default=Path("survey_scale.json"))
    parser.add_argument("--report", type=Path, nargs="+", help="print the table of these saved results; run nothing")
    args = parser.parse_args()
    if args.report:
        runs = {}
        for path in args.report:
            for r in json.loads(path.read_text())["runs"]:
                runs[r["genomes"]] = r
        results = {"runs": list(runs.values())}
        results["exponents"] = exponents(results["runs"])
        print(table(results))
        return
    results = json.loads(args.output.read_text()) if args.output.exists() else {"runs": []}
    results["settings"] = {"length": args.length, "site_every": args.site_every, "model": args.model,
                           "threads": args.threads, "databases": [Path(d).name for d in args.database],
                           "cpus": os.cpu_count()}
    for count in args.genomes:
        work = args.workdir / f"n{count}" if args.workdir else Path(tempfile.mkdtemp(prefix=f"survey-scale-{count}-"))
        if (work / "results").exists():
            shutil.rmtree(work / "results")  # a fresh run, not a resumed one
        sheet = simulate(work / "genomes", count, args.length, args.site_every, args.seed)
        print(f"{count} genomes of {args.length:,} nt: pygenome run ...", file=sys.stderr, flush=True)
        total = run_survey(sheet, work / "results", args)
        steps = step_figures(work / "results")
        record = {"genomes": count, "total_length": count * args.length, **total, "steps": steps,
                  "overhead_s": round(total["wall_s"] - sum(s["seconds"] for s in steps.values()), 1)}
        print(f"  {record['wall_s']:,.0f} s, peak {record['peak_rss_mb']:,.0f} MiB", file=sys.stderr, flush=True)
        results["runs"] = [r for r in results["runs"] if r["genomes"] != count] + [record]
        results["exponents"] = exponents(results["runs"])
        args.output.write_text(json.dumps(results, indent=1) + "\n")
        if not args.workdir:
            shutil.rmtree(work)
    print(table(results))


if __name__ == "__main__":
    main()
