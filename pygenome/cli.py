"""The ``pygenome`` command: argument parsing only; each subcommand calls one function of the package."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from pygenome import __version__
from pygenome.errors import InputError, Stopped
from pygenome.interpret.motif_settings import MotifSettings
from pygenome.io.alignments import SIGNALS, STRANDEDNESS, ReadOptions
from pygenome.io.genome import TOPOLOGIES


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default once: not for options without one (None, False), nor where the help says it."""

    def _get_help_string(self, action) -> str:
        default = action.default
        if default is None or default is False or default == "" or default is argparse.SUPPRESS \
                or (isinstance(default, (list, tuple)) and not default) \
                or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


FASTA_HELP = "genome FASTA (plain, gzip or bgzip), or GenBank (.gbff, plain or gzip)"
TOPOLOGY_HELP = ("contig topology; auto: circular where the FASTA header says [topology=circular] or the GenBank LOCUS "
                 "line says circular")


def _genome_options(parser, contigs: str | None = None, fasta_help: str = FASTA_HELP) -> None:
    """``--fasta`` and ``--topology``, and ``--contig`` where ``contigs`` says what the step does with one."""
    parser.add_argument("--fasta", required=True, help=fasta_help)
    if contigs:
        parser.add_argument("--contig", action="append", dest="contigs", metavar="NAME",
                            help=f"{contigs} only this contig (repeatable; default: every contig)")
    parser.add_argument("--topology", choices=TOPOLOGIES, default="auto", help=TOPOLOGY_HELP)


def _model_option(parser, what: str = "a model folder from pygenome train, or a bundled model's name") -> None:
    parser.add_argument("--model", required=True, type=Path, help=what)


def _output_options(parser, prefix_help: str = "output file name prefix", folder_help: str = "folder for the outputs",
                    prefix_default: str | None = None) -> None:
    """``--outdir`` and ``--prefix``: every output is ``<outdir>/<prefix>.<name>``."""
    parser.add_argument("--outdir", required=True, type=Path, help=folder_help)
    parser.add_argument("--prefix", required=prefix_default is None, default=prefix_default, type=_prefix,
                        help=prefix_help)


def _running_options(parser, threads_help: str = "CPU threads (default: PyTorch's)", quiet: bool = True,
                     device: bool = False) -> None:
    """``--threads``, and ``--quiet`` (no progress bar) and ``--device`` where the step has them."""
    if device:
        parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                            help="auto: CUDA where PyTorch sees a GPU")
    parser.add_argument("--threads", type=int, help=threads_help)
    if quiet:
        parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _database_option(parser, what: str) -> None:
    parser.add_argument("--database", nargs="+", default=[], dest="databases", metavar="MOTIFS",
                        help=f"known motifs (MEME or TRANSFAC, plain or gzip) to match {what} against")


def _torch_threads(args) -> None:
    """Applies ``--threads`` to PyTorch (the steps that run a model)."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pygenome", description="Learn where things happen in prokaryotic genomes, and explain why.")
    parser.add_argument("--version", action="version", version=f"pygenome {__version__}")
    steps = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    _add_label(steps)
    _add_export(steps)
    _add_train(steps)
    _add_predict(steps)
    _add_evaluate(steps)
    _add_attribute(steps)
    _add_gia(steps)
    _add_filters(steps)
    _add_baseline(steps)
    _add_classify(steps)
    _add_motifs(steps)
    _add_survey(steps)
    _add_report(steps)
    _add_run(steps)
    _add_demo(steps)
    return parser


def _add_label(steps) -> None:
    parser = steps.add_parser(
        "label", help="alignments and/or known sites → per-nucleotide labels (and peaks → binned labels)",
        description="Turn sequencing alignments (5'-end counts, 3'-end counts or coverage) and/or known sites into "
                    "per-nucleotide labels; turn peak files into binned labels. Coordinates are 0-based.",
        formatter_class=_Formatter)
    inputs = parser.add_argument_group("inputs")
    _genome_options(inputs, contigs="label")
    inputs.add_argument("--bam", help="coordinate-sorted, indexed BAM or CRAM of the (treated) library")
    inputs.add_argument("--control-bam", help="control library (e.g. TEX- or untreated) for the enrichment test")
    inputs.add_argument("--sites", help="BED of known sites (e.g. annotated TSS); the 5' end of each interval")
    inputs.add_argument("--peaks", nargs="+", default=[], help="BED/narrowPeak files, one binned-label task each")
    _output_options(parser.add_argument_group("outputs"), "output file name prefix, e.g. the genome id")
    reads = parser.add_argument_group("reads")
    reads.add_argument("--signal", choices=SIGNALS, default="five_prime", help="what each read contributes")
    reads.add_argument("--strandedness", choices=STRANDEDNESS, default="forward",
                       help="forward: read 1 is the RNA sense (dRNA-seq, Cappable-seq); reverse: antisense (dUTP)")
    reads.add_argument("--mate", type=int, choices=(1, 2), default=1, help="for paired reads, the mate counted")
    reads.add_argument("--min-mapq", type=int, default=0, help="minimum mapping quality")
    reads.add_argument("--unclipped", action="store_true",
                       help="read ends at the sequenced end, over soft/hard clips (default: first aligned base)")
    for flag in ("secondary", "supplementary", "duplicates", "qc-fail"):
        reads.add_argument(f"--keep-{flag}", action="store_true",
                           help=f"count {flag.replace('qc-fail', 'QC-failed').replace('duplicates', 'duplicate')} "
                                "alignments")
    calling = parser.add_argument_group("site calling (five_prime signal)")
    calling.add_argument("--min-count", type=int, default=5, help="minimum 5'-end reads at a site")
    calling.add_argument("--distance", type=int, default=10,
                         help="a site is the strongest position within this many nt on either side")
    calling.add_argument("--min-enrichment", type=float, default=2.0,
                         help="minimum fold enrichment over the control library (library-size normalised)")
    calling.add_argument("--pseudocount", type=float, default=1.0, help="reads added to both libraries' counts")
    binning = parser.add_argument_group("binned labels (peaks)")
    binning.add_argument("--bin-length", type=int, default=200, help="bin length, nt")
    binning.add_argument("--bin-stride", type=int, default=50, help="distance between bin starts, nt")
    binning.add_argument("--min-overlap", type=float, default=0.5, help="fraction of a bin a peak must cover")
    run = parser.add_argument_group("running")
    run.add_argument("--build-index", action="store_true", help="index an unindexed BAM/CRAM instead of failing")
    _running_options(run, "processes reading alignments (default: 1)")
    parser.set_defaults(func=_run_label)


def _run_label(args) -> None:
    from pygenome.steps.label import Binning, SiteCalling, label

    reads = ReadOptions(
        signal=args.signal, strandedness=args.strandedness, mate=args.mate, min_mapq=args.min_mapq,
        unclipped=args.unclipped, keep_secondary=args.keep_secondary, keep_supplementary=args.keep_supplementary,
        keep_duplicates=args.keep_duplicates, keep_qc_fail=args.keep_qc_fail)
    qc = label(args.fasta, args.outdir, args.prefix, bam=args.bam, control_bam=args.control_bam, sites=args.sites,
          peaks=args.peaks, contigs=args.contigs, topology=args.topology, reads=reads,
          calling=SiteCalling(args.min_count, args.distance, args.min_enrichment, args.pseudocount),
          binning=Binning(args.bin_length, args.bin_stride, args.min_overlap), build_index=args.build_index,
          workers=1 if args.threads is None else args.threads, progress=not args.quiet)
    for warning in qc["warnings"]:
        print(f"pygenome label: warning: {warning}", file=sys.stderr)
    sites = qc.get("sites", {})
    sources = ", ".join(f"{count:,} {source}" for source, count in sites.get("by_source", {}).items())
    reads = f"{qc['reads']['used']:,} reads used; " if "reads" in qc else ""
    print(f"pygenome label: {reads}{sites.get('total', 0):,} sites ({sources or 'none'}) on {len(qc['contigs'])} "
          f"contig{'s' * (len(qc['contigs']) != 1)} → {args.outdir / args.prefix}.labels.track.npz")


def _add_export(steps) -> None:
    parser = steps.add_parser(
        "export", help="a track → stranded bigWig or bedGraph, or a label track → BED of sites",
        description="Export a pygenome track: <prefix>.plus.<ext> and <prefix>.minus.<ext> for bigwig and "
                    "bedgraph; <prefix>.bed (one line per labelled position) for bed, in --outdir.",
        formatter_class=_Formatter)
    parser.add_argument("track", help="a *.track.npz file")
    parser.add_argument("--format", choices=("bigwig", "bedgraph", "bed"), default="bigwig",
                        help="stranded bigWig or bedGraph of the values, or BED of the labelled positions")
    _output_options(parser)
    parser.set_defaults(func=_run_export)


def _run_export(args) -> None:
    from pygenome.io.tracks import export_track, load_track

    args.outdir.mkdir(parents=True, exist_ok=True)
    export_track(load_track(args.track), args.outdir / args.prefix, args.format)
    print(f"pygenome export: {args.format} of {Path(args.track).name} → {args.outdir / args.prefix}.*")


def _add_train(steps) -> None:
    parser = steps.add_parser(
        "train", help="label tracks → a trained model (alone, or under torchrun for DDP)",
        description="Train a model (the transformer, or --preset cnn's convolutional baseline) on one or more "
                    "genomes and their label tracks. Under `torchrun --nproc_per_node N` the same command trains "
                    "with DistributedDataParallel (NCCL on GPU, gloo on CPU); the global batch does not change with "
                    "N.",
        formatter_class=_Formatter)
    parser.add_argument("--genome", nargs=3, action="append", required=True, metavar=("ID", "FASTA", "LABELS"),
                        help="a genome id, its FASTA and its label track (<prefix>.labels.track.npz); repeatable")
    parser.add_argument("--outdir", required=True, type=Path, help="the model folder to write")
    parser.add_argument("--preset", choices=("cpu", "paper", "cnn"), default="cpu",
                        help="cpu: a regime that learns in minutes on a CPU; paper: Clauwaert & Waegeman's model "
                             "and regime (a GPU's work); cnn: the convolutional baseline (no attention)")
    parser.add_argument("--config", type=Path,
                        help='JSON file of settings over the preset: {"model": {...}, "training": {...}}')
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="settings over the preset and --config, e.g. steps=500 n_layers=2 (values as JSON)")
    parser.add_argument("--resume", action="store_true", help="continue from the folder's last checkpoint")
    _running_options(parser, "CPU threads per process (default: PyTorch's)", device=True)
    parser.set_defaults(func=_run_train)


def _run_train(args) -> None:
    from pygenome.model.settings import read_settings, setting_pairs
    from pygenome.model.windows import GenomeInput
    from pygenome.steps.train import configs, train

    overrides = read_settings(args.config) if args.config else {}
    overrides.update(setting_pairs(args.set))
    _torch_threads(args)
    model_config, train_config = configs(args.preset, overrides)
    metrics = train([GenomeInput(*genome) for genome in args.genome], args.outdir, model_config, train_config,
                    resume=args.resume, device=args.device, progress=not args.quiet)
    if metrics:  # the process of rank 0, or the only one
        best, test = metrics["best_validation"], metrics["test"]
        tested = f"; test ROC AUC {test['roc_auc']:.3f}, PR AUC {test['pr_auc']:.4f}" if test else ""
        calling = metrics["site_calling"] or {}
        threshold = f"; sites called at {calling['min_score']:.3g}" if calling.get("min_score") is not None else ""
        print(f"pygenome train: best at step {metrics['best_step']:,} of {metrics['steps']:,}: validation ROC AUC "
              f"{best['validation_roc_auc']:.3f}, PR AUC {best['validation_pr_auc']:.4f}{tested}{threshold} → "
              f"{args.outdir}")


def _prefix(text: str) -> str:
    """``--prefix``: a file-name prefix, so that every output stays inside ``--outdir``."""
    if not text or "/" in text or "\\" in text or text in (".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r} is not a file-name prefix; give a name without '/' (the files go "
                                         "into --outdir)")
    return text


def _add_predict(steps) -> None:
    parser = steps.add_parser(
        "predict", help="a model + a genome → per-nucleotide scores, called sites and attention at sites",
        description="Score both strands of every nucleotide of the contigs (each with its full upstream context, "
                    "wrapping the origin of circular contigs), call sites, and keep the attention of every layer "
                    "and head at query sites.",
        formatter_class=_Formatter)
    _model_option(parser)
    _genome_options(parser, contigs="predict")
    _output_options(parser, "output file name prefix, e.g. <genome>.<contig>")
    parser.add_argument("--call", choices=("peaks", "threshold", "top_k"), default="peaks",
                        help="peaks: local maxima >= --min-score, --distance apart; threshold: every position >= "
                             "--min-score; top_k: the --top-k highest peaks")
    parser.add_argument("--min-score", type=float, help="minimum probability of a called site (default: the "
                        "threshold calibrated on the model's validation set, in its config.json; 0.5 without one)")
    parser.add_argument("--distance", type=int, default=10, help="nt between called peaks")
    parser.add_argument("--top-k", type=int, default=1000, help="sites kept by --call top_k")
    parser.add_argument("--attention-sites", metavar="SOURCE",
                        help="keep attention at these sites: 'predicted', a BED file, or a label track")
    parser.add_argument("--attention-controls", type=int, metavar="N",
                        help="random control positions whose attention is kept too, more than 100 nt from any site "
                             "(default: as many as sites, at least 500, or all there is room for on a small contig "
                             "crowded with sites, with a warning)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the control positions")
    parser.add_argument("--bedgraph", action="store_true", help="also write stranded bedGraph")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="auto: bf16 autocast on GPU, fp32 on CPU")
    parser.add_argument("--batch-size", type=int, help="streams per forward (default: 16 on CPU, 128 on GPU)")
    _running_options(parser, device=True)
    parser.set_defaults(func=_run_predict)


def _run_predict(args) -> None:
    from pygenome.steps.predict import SiteCaller, predict

    _torch_threads(args)
    summary = predict(args.model, args.fasta, args.outdir, args.prefix, contigs=args.contigs, topology=args.topology,
                      caller=SiteCaller(args.call, args.min_score, args.distance, args.top_k),
                      attention_sites=args.attention_sites, attention_controls=args.attention_controls,
                      seed=args.seed, bedgraph=args.bedgraph, device=args.device, precision=args.precision,
                      batch_size=args.batch_size, progress=not args.quiet)
    attention = (f"; attention at {summary['attention_sites']:,} sites and {summary['attention_controls']:,} controls"
                 if "attention_sites" in summary else "")
    print(f"pygenome predict: {len(summary['contigs'])} contig{'s' * (len(summary['contigs']) != 1)} on "
          f"{summary['device']}, {summary['sites_called']:,} sites called at score ≥ {summary['min_score']:.3g}"
          f"{attention} → {args.outdir / args.prefix}.*")


def _add_evaluate(steps) -> None:
    parser = steps.add_parser(
        "evaluate", help="predictions + labels on held-out regions → ROC/PR AUC, site precision/recall, curves",
        description="Evaluate score tracks against label tracks on the held-out regions saved with the model, per "
                    "genome and overall.",
        formatter_class=_Formatter)
    _model_option(parser, "the model folder (for its held-out regions), or a bundled model's name")
    parser.add_argument("--predictions", required=True, nargs="+", help="*.scores.track.npz (several per genome "
                                                                          "allowed, e.g. one per contig)")
    parser.add_argument("--labels", required=True, nargs="+", help="*.labels.track.npz, one per genome")
    parser.add_argument("--outdir", required=True, type=Path, help="folder for the outputs")
    parser.add_argument("--held-out", dest="which", choices=("test", "validation", "all", "auto"), default="test",
                        help="positions evaluated; all: for a genome the model was not trained on; auto: test for "
                             "the genomes it was trained on, all for the others")
    parser.add_argument("--tolerance", type=int, default=10, help="nt within which a predicted site hits a label")
    parser.add_argument("--distance", type=int, default=10, help="nt between predicted peaks")
    parser.add_argument("--baseline", nargs="+", default=[], metavar="TRACK",
                        help="other *.scores.track.npz (e.g. from pygenome baseline) evaluated on the same positions "
                             "and reported beside the model")
    parser.set_defaults(func=_run_evaluate)


def _run_evaluate(args) -> None:
    from pygenome.steps.evaluate import evaluate

    figures = evaluate(args.model, args.predictions, args.labels, args.outdir, which=args.which,
                       tolerance=args.tolerance, distance=args.distance, baseline=args.baseline)
    overall, scan = figures["overall"], figures.get("baseline", {}).get("overall")
    beside = f"; the scan beside it: ROC AUC {scan['roc_auc']:.3f}, PR AUC {scan['pr_auc']:.4f}" if scan else ""
    print(f"pygenome evaluate: {len(figures['genomes'])} genome{'s' * (len(figures['genomes']) != 1)}, "
          f"{overall['positions']:,} positions: ROC AUC {overall['roc_auc']:.3f}, PR AUC {overall['pr_auc']:.4f}"
          f"{beside} → {args.outdir}")


def _add_attribute(steps) -> None:
    from pygenome.interpret.attribution_methods import DEFAULT_METHODS, METHODS, REFERENCES

    parser = steps.add_parser(
        "attribute", help="a model + sites → attributions: saliency, in-silico mutagenesis, integrated gradients, "
                          "DeepLIFT/SHAP",
        description="Explain the model's score (log-odds) at each site by the nucleotides of the window it reads: "
                    "gradient x input, in-silico mutagenesis (centred), integrated gradients and, for a CNN, "
                    "DeepLIFT/SHAP (tangermeme). Writes (N, 4, L) arrays "
                    "(<prefix>.one_hot.npz and <prefix>.<method>.npz, as TF-MoDISco reads them), a site table, a JSON "
                    "summary and attribution logos.",
        formatter_class=_Formatter)
    _model_option(parser)
    _genome_options(parser, contigs="attribute sites on")
    parser.add_argument("--sites", required=True, metavar="SOURCE",
                        help="a BED file, or a label track (*.labels.track.npz: every labelled position)")
    parser.add_argument("--max-sites", type=int, help="at most this many sites (the first in genome order)")
    parser.add_argument("--method", nargs="+", dest="methods", choices=METHODS, default=list(DEFAULT_METHODS),
                        help="deep_lift_shap: CNN models only (attention has no DeepLIFT rule)")
    parser.add_argument("--reference", choices=REFERENCES, default="dinucleotide_shuffle",
                        help="the reference of integrated gradients")
    parser.add_argument("--steps", type=int, default=50, help="integration intervals of integrated gradients")
    parser.add_argument("--deep-lift-references", type=int, default=20,
                        help="shuffled references per site of DeepLIFT/SHAP")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffled references")
    _database_option(parser, "the attribution motifs")
    parser.add_argument("--plot-sites", type=int, default=3, help="attribution logos for the first N sites")
    parser.add_argument("--plot-span", type=int, nargs=2, default=[-50, 25], metavar=("FROM", "TO"),
                        help="offsets from the site shown in the logos")
    _output_options(parser)
    _running_options(parser)
    parser.set_defaults(func=_run_attribute)


def _run_attribute(args) -> None:
    import json

    from pygenome.steps.attribute import attribute

    _torch_threads(args)
    summary = attribute(args.model, args.fasta, args.sites, args.outdir, args.prefix, methods=args.methods,
                        reference=args.reference, steps=args.steps, seed=args.seed, contigs=args.contigs,
                        topology=args.topology, max_sites=args.max_sites, plot_sites=args.plot_sites,
                        plot_span=tuple(args.plot_span), databases=args.databases, progress=not args.quiet,
                        deep_lift_references=args.deep_lift_references)
    print(json.dumps({key: summary[key] for key in ("sites", "window", "methods", "integrated_gradients",
                                                     "deep_lift_shap") if key in summary}))


def _add_gia(steps) -> None:
    parser = steps.add_parser(
        "gia", help="a model + a motif → its effect placed in shuffled genome backgrounds, by offset and spacing",
        description="Global importance analysis: place a motif (a word, or a motif of a MEME/TRANSFAC file, e.g. a "
                    "head motif) at offsets from the site in dinucleotide-shuffled windows of the genome, and report "
                    "the mean change of the model's log-odds with its 95% CI, beside a shuffled control; with "
                    "--second, scan the spacer between a second motif upstream and the first.",
        formatter_class=_Formatter)
    _model_option(parser)
    _genome_options(parser, fasta_help="the genome whose windows make the backgrounds (FASTA)")
    parser.add_argument("--motif", required=True, help="a word (e.g. TATAAT) or a MEME/TRANSFAC file")
    parser.add_argument("--motif-name", help="the motif of the --motif file")
    parser.add_argument("--at", nargs="+", type=int, default=[-12], metavar="OFFSET",
                        help="offsets of the motif's first base from the site (negative: upstream)")
    parser.add_argument("--second", help="a second motif (word or file) for a spacing scan upstream of the first")
    parser.add_argument("--second-name", help="the motif of the --second file")
    parser.add_argument("--spacings", nargs=2, type=int, metavar=("FROM", "TO"),
                        help="spacers (nt between the second motif's end and the first's start), both included")
    parser.add_argument("--backgrounds", type=int, default=500, help="shuffled background windows")
    parser.add_argument("--seed", type=int, default=0, help="seed of the background windows and their shuffles")
    _output_options(parser)
    _running_options(parser, quiet=False)
    parser.set_defaults(func=_run_gia)


def _run_gia(args) -> None:
    import json

    from pygenome.steps.gia import gia

    _torch_threads(args)
    spacings = range(args.spacings[0], args.spacings[1] + 1) if args.spacings else ()
    summary = gia(args.model, args.fasta, args.outdir, args.prefix, args.motif, motif_name=args.motif_name,
                  offsets=args.at, second=args.second, second_name=args.second_name, spacings=spacings,
                  count=args.backgrounds, seed=args.seed, topology=args.topology)
    print(json.dumps({key: value for key, value in summary.items() if key != "effects"}))


def _add_filters(steps) -> None:
    parser = steps.add_parser(
        "filters", help="a CNN model + sites → its first-layer filters as motifs (MEME), matched with Tomtom",
        description="For each first-layer filter of a CNN model (--preset cnn), count the subsequences of the input "
                    "windows at the sites where its activation exceeds --threshold times its largest, write the "
                    "counts as MEME motifs with logos, and match them against known motifs.",
        formatter_class=_Formatter)
    _model_option(parser, "a CNN model folder from pygenome train (--preset cnn)")
    _genome_options(parser)
    parser.add_argument("--sites", required=True, metavar="SOURCE", help="a BED file or a label track")
    _database_option(parser, "the filters")
    parser.add_argument("--threshold", type=float, default=0.5, help="fraction of a filter's largest activation")
    parser.add_argument("--min-sites", type=int, default=10, help="subsequences a written filter needs at least")
    _output_options(parser)
    parser.set_defaults(func=_run_filters)


def _run_filters(args) -> None:
    import json

    from pygenome.steps.filters import filters

    print(json.dumps(filters(args.model, args.fasta, args.sites, args.outdir, args.prefix, databases=args.databases,
                             threshold=args.threshold, min_sites=args.min_sites, topology=args.topology)))


def _add_baseline(steps) -> None:
    parser = steps.add_parser(
        "baseline", help="a genome → scores of a plain -10 box (TATAAT) scan, the baseline a TSS model must beat",
        description="Score both strands of every nucleotide by the best log-odds score (bits, against the genome's "
                    "base composition) of a position weight matrix placed with its first column --offsets nt from "
                    "it (upstream on its strand; wrapping circular contigs). The matrix: TATAAT with 0.7 on the "
                    "consensus base and 0.1 on the others, or --motif-name of --motif. Writes "
                    "<prefix>.scores.track.npz, which pygenome evaluate reads (e.g. with --baseline).",
        formatter_class=_Formatter)
    _genome_options(parser)
    parser.add_argument("--motif", type=Path, metavar="FILE", help="a MEME or TRANSFAC file (plain or gzip)")
    parser.add_argument("--motif-name", metavar="NAME", help="the motif of --motif to scan for")
    parser.add_argument("--offsets", nargs=2, type=int, default=[-14, -9], metavar=("START", "END"),
                        help="nt from the site to the matrix's first column, both ends included; negative: upstream")
    _output_options(parser, "output file name prefix, e.g. the genome id")
    parser.set_defaults(func=_run_baseline)


def _run_baseline(args) -> None:
    from pygenome.steps.baseline import baseline

    path = baseline(args.fasta, args.outdir, args.prefix, topology=args.topology, motif=args.motif,
                    motif_name=args.motif_name, offsets=args.offsets)
    print(f"pygenome baseline: → {path}")


def _add_classify(steps) -> None:
    parser = steps.add_parser(
        "classify", help="sites + the genome's genes → each site's class (primary, secondary, internal, antisense, "
                         "orphan), gene, product and 5' UTR",
        description="Class transcription start sites by the genes of the genome's annotation as TSSpredator does: "
                    "primary (the strongest site at most --utr-length nt upstream of a gene on its strand), "
                    "secondary (the others there), internal (inside a gene on its strand), antisense (on the other "
                    "strand, inside a gene or within --antisense-distance nt of it), orphan (none of these); "
                    "leaderless sites (a 5' UTR of 5 nt or less) flagged. Writes <prefix>.sites.tsv, "
                    "<prefix>.sites.bed (the class and gene in the name column) and <prefix>.classes.json (counts "
                    "per class; with --known, the precision of each class against the known sites).",
        formatter_class=_Formatter)
    _genome_options(parser)
    parser.add_argument("--annotation", help="the genome's genes: GFF3 or GenBank, plain or gzip (default: --fasta, "
                                             "when it is a GenBank file)")
    parser.add_argument("--sites", required=True, nargs="+", metavar="SOURCE",
                        help="the sites to class: BED files (e.g. predict's <prefix>.predicted.bed of each contig) or "
                             "a label track")
    parser.add_argument("--known", help="known sites (BED or label track): each class's precision against them")
    parser.add_argument("--utr-length", type=int, default=300, metavar="NT",
                        help="the most nt upstream of a gene's start for a primary or secondary site")
    parser.add_argument("--antisense-distance", type=int, default=100, metavar="NT",
                        help="the most nt beyond a gene on the other strand for an antisense site")
    parser.add_argument("--distance", type=int, default=10, metavar="NT",
                        help="the most nt between a site and a known site that it is")
    _output_options(parser, "output file name prefix, e.g. the genome id")
    parser.set_defaults(func=_run_classify)


def _run_classify(args) -> None:
    from pygenome.steps.classify import classify

    summary = classify(args.fasta, args.sites, args.outdir, args.prefix, annotation=args.annotation,
                       topology=args.topology, known=args.known, utr_length=args.utr_length,
                       antisense_distance=args.antisense_distance, distance=args.distance)
    counts = ", ".join(f"{summary['class'][name]:,} {name}" for name in summary["class"])
    precision = summary.get("precision", {}).get("all", {}).get("precision")
    known = "" if precision is None else f"; {precision:.1%} near a known site"
    print(f"pygenome classify: {summary['sites']:,} sites against {summary['genes']:,} genes: {counts}; "
          f"{summary['leaderless']:,} leaderless{known}")


def _add_motifs(steps) -> None:
    parser = steps.add_parser(
        "motifs", help="attention at sites → head profiles, motifs, enrichment, logos and known-motif matches",
        description="For every attention head: its profile at sites against control queries and its peaks, the "
                    "motif under the keys the sites attend to most, that motif's enrichment near sites, its logo, "
                    "and its Tomtom matches in known-motif databases; with several genomes, which motifs recur.",
        formatter_class=_Formatter)
    parser.add_argument("--genome", nargs="+", action="append", required=True, metavar="ID FASTA ATTENTION",
                        help="a genome id, its FASTA and its attention files from pygenome predict (repeat per genome)")
    _database_option(parser, "the head motifs")
    parser.add_argument("--decoy", help="a motif database that should match nothing (e.g. eukaryotic JASPAR)")
    _output_options(parser)
    defaults = MotifSettings()
    parser.add_argument("--alpha", type=float, default=defaults.alpha,
                        help="q-value below which an offset of a head's profile may be significant")
    parser.add_argument("--min-fold", type=float, default=defaults.min_fold,
                        help="and sites' mean attention there at least this many times the controls'")
    parser.add_argument("--occurrence-p", type=float, default=defaults.occurrence_p,
                        help="p-value of a motif occurrence in the enrichment test")
    parser.add_argument("--match-q", type=float, default=defaults.match_q, help="q-value of a Tomtom match")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run_motifs)


def _run_motifs(args) -> None:
    from pygenome.steps.motifs import motifs

    for values in args.genome:
        if len(values) < 3:
            raise InputError(f"--genome {' '.join(values)}: give an id, a FASTA and at least one attention file")
    settings = MotifSettings(alpha=args.alpha, min_fold=args.min_fold, occurrence_p=args.occurrence_p,
                             match_q=args.match_q)
    summary = motifs([(values[0], values[1], values[2:]) for values in args.genome], args.outdir, args.prefix,
                     args.databases, args.decoy, settings, progress=not args.quiet)
    print(f"pygenome motifs: {summary['motifs']} head motifs from {summary['heads']} heads, "
          f"{summary['reported_motifs']} enriched near sites, {summary['matched_motifs']} of them matching a known "
          "motif")


def _add_survey(steps) -> None:
    parser = steps.add_parser(
        "survey", help="many genomes → one table of GC, predicted sites and recurring head motifs, with figures",
        description="For each genome: length, GC, contigs and predicted sites (the BED files of pygenome predict); "
                    "for each motif group of a pygenome motifs run that recurs in two or more of the genomes: each "
                    "genome's motif, its offset, AT fraction and heads; logos of every genome's motif side by side "
                    "(ordered by GC) and the motifs' AT fraction against genome GC.",
        formatter_class=_Formatter)
    parser.add_argument("--genome", nargs="+", action="append", required=True, metavar="ID FASTA BED",
                        help="a genome id, its FASTA and its predicted sites (<genome>.<contig>.predicted.bed of "
                             "pygenome predict); repeat per genome")
    parser.add_argument("--motifs", required=True, type=Path, metavar="DIR",
                        help="the output folder of pygenome motifs run on these genomes")
    parser.add_argument("--motifs-prefix", required=True, metavar="PREFIX",
                        help="the prefix of the files in the --motifs folder")
    _output_options(parser, prefix_default="survey")
    parser.set_defaults(func=_run_survey)


def _run_survey(args) -> None:
    from pygenome.io.layout import output
    from pygenome.steps.survey import survey

    for values in args.genome:
        if len(values) < 3:
            raise InputError(f"--genome {' '.join(values)}: give an id, a FASTA and at least one predicted-sites BED")
    summary = survey([(values[0], values[1], values[2:]) for values in args.genome], args.motifs,
                     args.motifs_prefix, args.outdir, args.prefix)
    genomes, groups = len(summary["genomes"]), summary["recurring_groups"]
    sites = sum(genome["predicted_sites"] for genome in summary["genomes"])
    print(f"pygenome survey: {genomes} genome{'s' * (genomes != 1)}, {sites} predicted sites, {groups} recurring "
          f"motif group{'s' * (groups != 1)} → {output('survey', 'table').path(args.outdir, args.prefix)}")


def _add_report(steps) -> None:
    parser = steps.add_parser(
        "report", help="the outputs of the other steps → one self-contained HTML page",
        description="Write one HTML page, readable offline (images and style embedded), of the outputs given: the "
                    "survey (first), inputs and checksums, label QC, training curves and calibrated site calling, "
                    "evaluation curves, attention-head motifs and attributions.",
        formatter_class=_Formatter)
    _output_options(parser, "the page is <prefix>.html", "folder of the page", prefix_default="report")
    parser.add_argument("--title", default="pygenome report", help="the page title")
    parser.add_argument("--description", default="", help="a paragraph under the title (plain text)")
    parser.add_argument("--label-qc", nargs="+", default=[], type=Path, metavar="QC_JSON",
                        help="<prefix>.qc.json files of pygenome label, one per genome")
    parser.add_argument("--model", nargs="+", default=[], type=Path, metavar="DIR",
                        help="model folders from pygenome train (e.g. one per genome)")
    parser.add_argument("--evaluation", nargs="+", default=[], type=Path, metavar="DIR",
                        help="output folders of pygenome evaluate")
    parser.add_argument("--motifs", type=Path, metavar="DIR",
                        help="an output folder of pygenome motifs (with --motifs-prefix)")
    parser.add_argument("--motifs-prefix", metavar="PREFIX", help="the prefix of the files in the --motifs folder")
    parser.add_argument("--attribution", type=Path, metavar="DIR",
                        help="an output folder of pygenome attribute (with --attribution-prefix)")
    parser.add_argument("--attribution-prefix", metavar="PREFIX", help="the prefix of the --attribution files")
    parser.add_argument("--survey", type=Path, metavar="DIR",
                        help="an output folder of pygenome survey (with --survey-prefix); its section comes first")
    parser.add_argument("--survey-prefix", metavar="PREFIX", help="the prefix of the files in the --survey folder")
    parser.add_argument("--classes", nargs="+", default=[], type=Path, metavar="CLASSES_JSON",
                        help="<prefix>.classes.json files of pygenome classify (the prefix names each set of sites)")
    parser.set_defaults(func=_run_report)


def _run_report(args) -> None:
    from pygenome.io.layout import output
    from pygenome.steps.report import report

    page = output("report", "report").path(args.outdir, args.prefix)
    report(page, title=args.title, description=args.description, label_qc=args.label_qc, model_dirs=args.model,
           evaluation_dirs=args.evaluation, motifs_dir=args.motifs, motifs_prefix=args.motifs_prefix,
           attribution_dir=args.attribution, attribution_prefix=args.attribution_prefix, survey_dir=args.survey,
           survey_prefix=args.survey_prefix, classes=args.classes)
    print(f"pygenome report: → {page}")


def _add_run(steps) -> None:
    parser = steps.add_parser(
        "run", help="the whole pipeline on one machine: label, train, predict, baseline, evaluate, motifs, report",
        description="Run every step for the genomes of a samplesheet into one output folder, as the Nextflow "
                    "pipeline does; a re-run skips the tasks whose outputs exist with unchanged inputs and "
                    "parameters, so an interrupted run restarts where it stopped.",
        formatter_class=_Formatter)
    parser.add_argument("--samplesheet", required=True, type=Path,
                        help="CSV: id,fasta,bam,control_bam,sites,topology (assets/schema_input.json); a row with "
                             "only id and fasta is a genome to survey without labels")
    parser.add_argument("--outdir", required=True, type=Path, help="folder for the outputs")
    parser.add_argument("--config", type=Path, help="parameters as YAML or JSON (the options below override it)")
    parser.add_argument("--preset", choices=("cpu", "paper"), help="training preset (default: cpu)")
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE", help="training settings over the preset")
    parser.add_argument("--model-scope", choices=("per_genome", "joint", "leave_one_out"),
                        help="one model per labelled genome, one trained on every labelled genome, or for each one "
                             "a model of all the others, evaluated on it (default: per_genome)")
    parser.add_argument("--model", help="predict every genome with this model (a folder from pygenome train, or a "
                                        "bundled model's name: ecoli-cpu) and train none; by default genomes without "
                                        "labels get the joint model of the labelled ones")
    parser.add_argument("--database", nargs="+", dest="databases", metavar="MOTIFS",
                        help="known motifs (MEME or TRANSFAC) to match head motifs against")
    parser.add_argument("--decoy", help="a motif set that should match nothing (default: the bundled JASPAR decoy)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false", default=None,
                        help="leave out the -10 box scan evaluated beside each model (labels other than TSS)")
    parser.add_argument("--title", help="title of the report")
    _running_options(parser, "CPU threads per step", quiet=False)
    parser.add_argument("--quiet", action="store_true", help="no progress bars (one line per task still)")
    parser.set_defaults(func=_run_run)


def _run_run(args) -> None:
    from pygenome.model.settings import setting_pairs
    from pygenome.pipeline.plan import read_params
    from pygenome.pipeline.run import run

    training = dict(setting_pairs(args.set)) if args.set else None
    params = read_params(args.config, preset=args.preset, training=training, model_scope=args.model_scope,
                         model=args.model, databases=args.databases, decoy=args.decoy, baseline=args.baseline,
                         title=args.title, threads=args.threads)
    run(args.samplesheet, args.outdir, params, progress=not args.quiet)


def _add_demo(steps) -> None:
    parser = steps.add_parser(
        "demo", help="the whole pipeline on the bundled E. coli data (simulated dRNA-seq alignments)",
        description="Simulate a dRNA-seq experiment (TEX+ and TEX-) from the bundled E. coli TSS and run the whole "
                    "pipeline on it (pygenome run, cpu preset): label, train, predict, baseline, evaluate, motifs "
                    "and report. Resumable; its figures go to demo_summary.json.",
        formatter_class=_Formatter)
    parser.add_argument("--outdir", type=Path, default=Path("results/demo"), help="folder for the outputs")
    parser.add_argument("--data", type=Path, default=Path("assets/demo"), help="the bundled demo data")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulation")
    _database_option(parser, "the head motifs against, besides the bundled sigma70 -10 reference (e.g. DBTBS),")
    _running_options(parser, "CPU threads per step (default: each step's own)", quiet=False)
    parser.add_argument("--quiet", action="store_true", help="no progress bars (one line per task still)")
    parser.set_defaults(func=_run_demo)


def _run_demo(args) -> None:
    import json

    from pygenome.pipeline.demo import demo

    summary = demo(args.outdir, args.data, args.seed, args.databases, args.threads, not args.quiet)
    print(json.dumps(summary, indent=2))


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():  # the warnings' display is the command's while it runs, and restored after
        warnings.showwarning = _warning_line(args.command)
        try:
            args.func(args)
        except InputError as error:
            print(f"pygenome {args.command}: error: {error}", file=sys.stderr)
            return 2
        except Stopped as stopped:
            print(f"pygenome {args.command}: {stopped}", file=sys.stderr)
            return 128 + stopped.signum
    return 0


def _warning_line(command: str):
    """``warnings.showwarning`` as one line on stderr, ``pygenome <command>: warning: <message>``, a library's with
    its name (``warning (memelite): …``), never the source line that raised it."""
    def show(message, category, filename, lineno, file=None, line=None):
        parts = Path(filename).parts
        library = next((parts[i + 1] for i in range(len(parts) - 1) if parts[i] in ("site-packages", "dist-packages")),
                       None)
        origin = "" if library in (None, "pygenome") else f" ({library.removesuffix('.py')})"
        text = " ".join(str(message).split())
        print(f"pygenome {command}: warning{origin}: {text}", file=file or sys.stderr)
    return show
