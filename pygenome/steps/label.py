"""The label step: alignments and/or known sites → per-nucleotide labels; peaks → binned labels.

Outputs, in ``outdir`` and named after ``prefix``:

- ``<prefix>.signal.track.npz``: the read signal (``int32`` counts per strand and nucleotide), with alignments;
- ``<prefix>.sites.bed``: the labelled sites (called from the signal, known from a BED, or both), BED6+4;
- ``<prefix>.labels.track.npz``: ``uint8`` labels, 1 at every site, with alignments or known sites;
- ``<prefix>.bins.bed``: binned labels from peak files (one 0/1 column per file), with peaks;
- ``<prefix>.qc.json``: reads seen, used and dropped by reason, sites called, per-contig figures.

Every output is written whole or not at all, and only once every input has been read and checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.io.alignments import ReadOptions, count_signal, mapped_reads, open_alignments
from pygenome.io.genome import N_CODE, read_genome
from pygenome.io.layout import file_keys, suffixes
from pygenome.io.outputs import atomic_outputs, write_json
from pygenome.io.sites import (
    call_sites,
    empty_sites,
    read_intervals,
    read_sites_bed,
    site_labels,
    sort_sites,
    write_sites_bed,
)
from pygenome.io.tracks import Track, genome_meta, save_track


@dataclass(frozen=True)
class SiteCalling:
    """Site-calling settings (see :mod:`pygenome.io.sites`): each is a ``pygenome label`` option of the same name."""

    min_count: int = 5
    distance: int = 10
    min_enrichment: float = 2.0
    pseudocount: float = 1.0

    def __post_init__(self):
        if self.min_count < 1 or self.distance < 0:
            raise InputError(f"min_count must be at least 1 and distance at least 0 (got {self.min_count}, "
                             f"{self.distance})")
        if self.min_enrichment <= 0 or self.pseudocount <= 0:
            raise InputError(f"min_enrichment and pseudocount must be positive (got {self.min_enrichment}, "
                             f"{self.pseudocount})")


@dataclass(frozen=True)
class Binning:
    """Binned labels from peaks (Koo & Ploenzke): bins of ``bin_length`` nt every ``bin_stride`` nt; a bin is 1 for a
    peak file when that file's peaks cover at least ``min_overlap`` of it."""

    bin_length: int = 200
    bin_stride: int = 50
    min_overlap: float = 0.5

    def __post_init__(self):
        if self.bin_length < 1 or self.bin_stride < 1 or not 0 < self.min_overlap <= 1:
            raise InputError("bin length and stride must be positive and the minimum overlap in (0, 1]")


def label(fasta, outdir, prefix: str, bam=None, control_bam=None, sites=None, peaks=(), contigs=None,
          topology: str = "auto", reads: ReadOptions = ReadOptions(), calling: SiteCalling = SiteCalling(),
          binning: Binning = Binning(), build_index: bool = False, workers: int = 1, progress: bool = True) -> dict:
    """Run the label step; returns the QC summary (also written as ``<prefix>.qc.json``).

    ``contigs`` (names) restricts the step to those contigs, so a genome can be labelled one contig per task; None
    labels every contig.
    """
    if bam is None and sites is None and not peaks:
        raise InputError("nothing to label from: give alignments (--bam), known sites (--sites) or peaks (--peaks)")
    if control_bam is not None and bam is None:
        raise InputError("a control library (--control-bam) needs the treated one (--bam)")
    if control_bam is not None and reads.signal != "five_prime":
        raise InputError("site calling (and so --control-bam) needs the five_prime signal")
    if workers < 1:
        raise InputError(f"threads must be at least 1, not {workers}")
    genome = read_genome(fasta, topology)
    names = [contig.name for contig in genome.contigs] if contigs is None else list(dict.fromkeys(contigs))
    chosen = [genome.contig(name) for name in names]
    warnings = []
    for contig in chosen:
        if not (genome.codes[contig.name] != N_CODE).any():
            warnings.append(f"{fasta}: contig {contig.name} is all N ({contig.length:,} nt): no signal can be read "
                            "or learnt there; its labels are all 0")
    if genome.untagged:
        warnings.append(f"{fasta}: no [topology=...] in the header of {', '.join(genome.untagged)}: read as linear "
                        "(no wrap-around at the origin); pass --topology circular for complete prokaryote genomes")
    outdir = Path(outdir)
    producer = {"step": "label", "pygenome": __version__, "parameters": {
        "fasta": Path(fasta).name, "bam": _name(bam), "control_bam": _name(control_bam), "sites": _name(sites),
        "peaks": [Path(p).name for p in peaks], "contigs": names, "topology": topology, "reads": reads.as_dict(),
        "calling": calling.__dict__, "binning": binning.__dict__}}
    genome_block = genome_meta(genome)  # with each contig's file-name part, which the Nextflow pipeline reads
    for contig, key in zip(genome_block["contigs"], file_keys([c.name for c in genome.contigs])):
        contig["key"] = key
    qc = {"pygenome": __version__, "genome": genome_block, "parameters": producer["parameters"],
          "contigs": {c.name: {"length": c.length, "circular": c.circular} for c in chosen}}
    outputs: dict[str, object] = {}
    site_tables = []

    if bam is not None:
        signal, stats, size = _read_signal(bam, genome, names, reads, build_index, workers, progress, warnings)
        qc["reads"] = {**_total(stats), "library_size": size}
        control = None
        if control_bam is not None:
            control, control_stats, control_size = _read_signal(control_bam, genome, names, reads, build_index,
                                                                workers, progress, warnings)
            qc["control_reads"] = {**_total(control_stats), "library_size": control_size}
        outputs["signal.track.npz"] = Track("signal", genome_meta(genome), signal, producer)
        for contig in chosen:
            qc["contigs"][contig.name]["reads"] = stats[contig.name]
            qc["contigs"][contig.name]["signal_per_strand"] = signal[contig.name].sum(axis=1).tolist()
            if not stats[contig.name]["seen"]:
                warnings.append(f"{bam}: no alignments on {contig.name}: its signal is zero")
            if reads.signal == "five_prime":
                sizes = (size, control_size) if control is not None else None
                called = call_sites(contig.name, signal[contig.name], contig.circular, calling.min_count,
                                    calling.distance, None if control is None else control[contig.name], sizes,
                                    calling.min_enrichment, calling.pseudocount)
                qc["contigs"][contig.name]["sites_called"] = len(called)
                site_tables.append(called)
    if sites is not None:
        known = read_sites_bed(sites, genome)
        known = known[known["contig"].isin(names)]
        for contig in chosen:
            qc["contigs"][contig.name]["sites_known"] = int((known["contig"] == contig.name).sum())
        if known.empty:
            warnings.append(f"{sites}: no sites on {', '.join(names)}: their labels from it are all 0 (an empty "
                            "BED, or one for other contigs?)")
        site_tables.append(known)
    if site_tables:
        table = pd.concat([t for t in site_tables if len(t)], ignore_index=True) if any(map(len, site_tables)) \
            else empty_sites()
        table = sort_sites(table, names).drop_duplicates(["contig", "position", "strand"], keep="first")
        outputs["sites.bed"] = table.reset_index(drop=True)
        outputs["labels.track.npz"] = Track(
            "labels", genome_meta(genome), {c.name: site_labels(table, c.name, c.length) for c in chosen}, producer)
        qc["sites"] = {"total": len(table), "by_source": table["source"].value_counts().sort_index().to_dict(),
                       "by_strand": table["strand"].value_counts().sort_index().to_dict()}
        for contig in chosen:
            qc["contigs"][contig.name]["sites"] = int((table["contig"] == contig.name).sum())
    if peaks:
        bins = bin_labels([read_intervals(path, genome) for path in peaks], [_task(p) for p in peaks], chosen,
                          binning)
        outputs["bins.bed"] = bins
        qc["bins"] = {"total": len(bins), "positive": {task: int(bins[task].sum()) for task in bins.columns[3:]}}

    qc["warnings"] = warnings
    _write(outdir, prefix, outputs, qc)
    return qc


def _read_signal(path, genome, names, reads, build_index, workers, progress, warnings):
    """``(signal, stats, library size)``: the library size, which normalises the enrichment test, is the mapped reads
    of the whole file (from a BAM's index, counted in a CRAM), so labelling one contig at a time calls the same sites
    as labelling all, and a CRAM the same as its BAM."""
    alignments = open_alignments(path, genome, build_index=build_index, notes=warnings)
    with alignments:
        mapped = mapped_reads(alignments, reads.mate)
        if mapped == 0:
            raise InputError(f"{path}: no mapped reads ({alignments.nocoordinate} unplaced); is it the right "
                             "alignment file, and were the reads aligned?")
        signal, stats = count_signal(alignments, genome, names, reads, workers=workers, progress=progress)
    total = _total(stats)
    if total["seen"] and not total["used"]:
        raise InputError(f"{path}: every alignment on {', '.join(names)} was filtered out ({total['dropped']}); "
                         "check --min-mapq, --mate and the --keep-* options")
    return signal, stats, mapped


def _total(stats: dict) -> dict:
    dropped: dict[str, int] = {}
    for contig in stats.values():
        for reason, count in contig["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + count
    return {"seen": sum(s["seen"] for s in stats.values()), "used": sum(s["used"] for s in stats.values()),
            "dropped": dict(sorted(dropped.items())), "dropped_total": sum(dropped.values())}


def bin_labels(peak_sets: list[pd.DataFrame], tasks: list[str], contigs, binning: Binning) -> pd.DataFrame:
    """Binned labels: one row per bin (``contig``, ``start``, ``end``) and one 0/1 column per task (peak set).

    Bins start every ``bin_stride`` nt and lie wholly within their contig (0-based, half-open).
    """
    if len(set(tasks)) != len(tasks):
        raise InputError(f"peak files must have distinct names (their names are the task names): {tasks}")
    frames = []
    for contig in contigs:
        starts = np.arange(0, contig.length - binning.bin_length + 1, binning.bin_stride, dtype=np.int64)
        frame = pd.DataFrame({"contig": contig.name, "start": starts, "end": starts + binning.bin_length})
        for task, peaks in zip(tasks, peak_sets):
            covered = np.zeros(contig.length + 1, dtype=np.int64)
            on_contig = peaks[peaks["contig"] == contig.name]
            np.add.at(covered, on_contig["start"].to_numpy(), 1)
            np.add.at(covered, on_contig["end"].to_numpy(), -1)
            cumulative = np.concatenate(([0], np.cumsum(np.cumsum(covered)[:-1] > 0)))
            fraction = (cumulative[starts + binning.bin_length] - cumulative[starts]) / binning.bin_length
            frame[task] = (fraction >= binning.min_overlap).astype(np.uint8)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _task(path) -> str:
    name = Path(path).name
    for suffix in (".gz", ".narrowPeak", ".broadPeak", ".bed"):
        name = name.removesuffix(suffix)
    return name


def _name(path):
    return None if path is None else Path(path).name


OUTPUTS = suffixes("label")


def _write(outdir: Path, prefix: str, outputs: dict, qc: dict) -> None:
    """Write the outputs of this run, and remove those of an earlier run with the same prefix that this one does not
    make (so a folder never mixes the outputs of two runs)."""
    paths = {key: outdir / f"{prefix}.{key}" for key in [*outputs, "qc.json"]}
    with atomic_outputs(*paths.values()) as temps:
        temp_of = dict(zip(paths, temps))
        for key, value in outputs.items():
            if key.endswith("track.npz"):
                save_track(temp_of[key], value)
            elif key == "sites.bed":
                write_sites_bed(value, temp_of[key])
            else:
                value.rename(columns={"contig": "#contig"}).to_csv(temp_of[key], sep="\t", index=False)
        write_json(temp_of["qc.json"], qc, indent=2)
    for key in OUTPUTS:
        if key not in paths:
            (outdir / f"{prefix}.{key}").unlink(missing_ok=True)

