"""The survey step: many genomes → one table of their composition, predicted sites and head motifs, with figures.

A survey applies one model to many genomes, most without labels, and asks which elements the attention heads find
in each genome and how those change with genomic GC (the sigma70 −10 box follows genomic GC across bacteria: Gomes
et al. 2020, ISME J). Inputs: per genome an id, its FASTA and its predicted sites (the ``<genome>.<contig>.
predicted.bed`` files of ``pygenome predict``), and one run of ``pygenome motifs`` over these genomes (its
``heads.tsv``, ``motifs.meme`` and, with several genomes, ``recurrence.tsv``).

A **group** is a group of ``recurrence.tsv`` (head motifs alike across genomes) whose motifs come from at least two
of the survey's genomes, named ``group<N>`` after its ``cluster`` number there. In a genome with several motifs of a
group (several heads, or several peaks of one head), its **representative** is the one with the smallest enrichment
q-value (then the most information): the one the wide table and the figures show.

Outputs in ``outdir``, named after ``prefix`` (declared in :data:`pygenome.io.layout.SURVEY`), all or none:

- ``<prefix>.tsv``, the wide table, for people: one row per genome in the order given: ``genome``, ``length`` (nt,
  every contig), ``gc`` (G+C fraction of the A/C/G/T bases, Ns left out, both strands counted, which equals one
  strand's), ``contigs``, ``predicted_sites`` (the distinct sites of its BED files), ``sites_per_mb`` (predicted
  sites, both strands, per 10^6 nt of genome length), then per group ``<group>_consensus``, ``<group>_offset``
  (``motif_start..motif_end`` nt from the site, as ``heads.tsv`` gives it), ``<group>_at_fraction`` and
  ``<group>_heads`` (every head with a motif of the group in that genome, e.g. ``L2H6,L3H3``); a genome without the
  group has empty cells;
- ``<prefix>.motifs.tsv``, the long table, for code: one row per motif of a group in a survey genome: ``genome``,
  ``gc``, ``group``, ``head_id``, ``motif`` (its name in ``motifs.meme``), ``consensus``, ``motif_start``,
  ``motif_end``, ``width``, ``information_content``, ``q_value``, ``at_fraction``, ``representative`` (1 or 0);
- ``<prefix>.json``: the settings, each genome's figures, each group (its consensus, genomes, and the least-squares
  line and Pearson and Spearman correlations of its representative's AT fraction against genome GC, from three
  genomes up), and a ``note`` when no group recurs;
- ``<prefix>.figures/``: per group ``<group>.logos.png`` and ``.svg`` (the representative motif of every genome with
  the group, one row per genome, lowest GC at the top, aligned on their offsets from the site) and, with a group,
  ``at_fraction_vs_gc.png`` (a panel per group: one point per genome, the line and both correlations).

A motif's **AT fraction** is the mean over its columns of P(A) + P(T): the matrix's expected AT content, so a −10
box whose fourth column holds G at some sites counts less AT than a pure TATAAT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.interpret import logos
from pygenome.interpret.composition import base_composition
from pygenome.io.genome import read_genome
from pygenome.io.layout import output, suffixes
from pygenome.io.motifs import LETTERS, probabilities, read_motifs
from pygenome.io.outputs import atomic_outputs, write_json
from pygenome.io.sites import read_sites_bed
from pygenome.io.tables import read_table

WRITTEN_BY = "`pygenome motifs` (run on the survey's genomes)"
HEADS_COLUMNS = ("genome", "head_id", "peak_offset", "motif", "consensus", "motif_start", "motif_end", "width",
                 "information_content", "q_value")
RECURRENCE_COLUMNS = ("cluster", "head_id", "genome", "consensus", "peak_offset")
TEXT_COLUMNS = frozenset({"genome", "head_id", "motif", "consensus"})
GENOME_COLUMNS = ["genome", "length", "gc", "contigs", "predicted_sites", "sites_per_mb"]
GROUP_FIELDS = ("consensus", "offset", "at_fraction", "heads")
MOTIF_COLUMNS = ["genome", "gc", "group", "head_id", "motif", "consensus", "motif_start", "motif_end", "width",
                 "information_content", "q_value", "at_fraction", "representative"]
MIN_GENOMES_FOR_TREND = 3
SCATTER = "at_fraction_vs_gc.png"


def survey(genomes, motifs_dir, motifs_prefix: str, outdir, prefix: str = "survey") -> dict:
    """Run the survey step. ``genomes``: ``(id, fasta, [predicted BED files])`` per genome; ``motifs_dir`` and
    ``motifs_prefix``: one run of ``pygenome motifs`` over them. Returns the summary (the JSON record)."""
    genomes = [(str(genome_id), fasta, list(beds)) for genome_id, fasta, beds in genomes]
    ids = [genome_id for genome_id, _, _ in genomes]
    if not ids or len(set(ids)) != len(ids):
        raise InputError(f"give each genome once, with a distinct id (got {', '.join(ids) or 'none'})")
    for genome_id, _, beds in genomes:
        if not beds:
            raise InputError(f"genome {genome_id}: no predicted-sites BED given; give its <genome>.<contig>."
                             "predicted.bed files of pygenome predict")
    outdir, motifs_dir = Path(outdir), Path(motifs_dir)
    _check_apart(outdir, prefix, motifs_dir, motifs_prefix)
    table = pd.DataFrame([genome_figures(*genome) for genome in genomes], columns=GENOME_COLUMNS)
    gc = dict(zip(table["genome"], table["gc"]))
    heads, recurrence, matrices = read_motifs_run(motifs_dir, motifs_prefix, ids)
    members = group_members(heads, recurrence, matrices, gc, output("motifs", "recurrence").path(motifs_dir,
                                                                                                   motifs_prefix))
    groups = [_group_summary(name, rows) for name, rows in members.groupby("group", sort=False)]
    wide = _wide(table, members, [group["group"] for group in groups])
    note = None
    if not groups:
        note = ("one genome: no motif group can recur" if len(ids) == 1 else
                "no motif group of the motifs run recurs in two or more of these genomes")
    summary = {"pygenome": __version__, "genomes": table.to_dict("records"), "groups": groups,
               "recurring_groups": len(groups), "note": note,
               "parameters": {"genomes": [[g, Path(f).name, [Path(b).name for b in beds]] for g, f, beds in genomes],
                              "motifs": [output("motifs", name).path("", motifs_prefix).name
                                         for name in ("heads", "meme", "recurrence")]}}
    keys = suffixes("survey")
    with atomic_outputs(*(outdir / f"{prefix}.{key}" for key in keys)) as temps:
        temp = dict(zip(keys, temps))
        wide.to_csv(temp["tsv"], sep="\t", index=False, float_format="%.6g")
        members[MOTIF_COLUMNS].to_csv(temp["motifs.tsv"], sep="\t", index=False, float_format="%.6g")
        write_json(temp["json"], summary, indent=2, sort_keys=True)
        folder = temp["figures"]
        folder.mkdir()
        for group in groups:
            rows = members[(members["group"] == group["group"]) & (members["representative"] == 1)]
            group_logos(rows.sort_values(["gc", "genome"]), matrices, f"{group['group']}: {group['consensus']}",
                        folder / f"{group['group']}.logos.png", folder / f"{group['group']}.logos.svg")
        if groups:
            logos.at_fraction_vs_gc(members[members["representative"] == 1], groups, folder / SCATTER,
                                    MIN_GENOMES_FOR_TREND)
    return summary


def _check_apart(outdir: Path, prefix: str, motifs_dir: Path, motifs_prefix: str) -> None:
    """Refuse outputs that would replace a file of the motifs run read (same folder and prefix: its figures)."""
    ours = {(outdir / f"{prefix}.{key}").resolve() for key in suffixes("survey")}
    theirs = {(motifs_dir / f"{motifs_prefix}.{key}").resolve() for key in suffixes("motifs")}
    clash = sorted(str(path) for path in ours & theirs)
    if clash:
        raise InputError(f"{clash[0]}: the survey would overwrite this output of pygenome motifs; give the survey "
                         "another --prefix or --outdir")


def genome_figures(genome_id: str, fasta, beds) -> dict:
    """One genome's row of the wide table before its groups: length, GC, contigs and predicted sites."""
    genome = read_genome(fasta)
    length = sum(contig.length for contig in genome.contigs)
    composition = base_composition(genome.codes.values())  # A, C, G, T over both strands, Ns left out
    sites = pd.concat([read_sites_bed(bed, genome) for bed in beds], ignore_index=True)
    count = len(sites.drop_duplicates(["contig", "position", "strand"]))
    return {"genome": genome_id, "length": length, "gc": float(composition[1] + composition[2]),
            "contigs": len(genome.contigs), "predicted_sites": count, "sites_per_mb": count / length * 1e6}


def read_motifs_run(folder: Path, prefix: str, ids: list[str]):
    """The motifs run's head table, its recurrence table (None with a single genome) and its motifs by name, checked
    to hold every genome of ``ids``."""
    heads_path = output("motifs", "heads").path(folder, prefix)
    heads = read_table(heads_path, HEADS_COLUMNS, WRITTEN_BY, TEXT_COLUMNS)
    run = list(dict.fromkeys(heads["genome"]))
    missing = [genome_id for genome_id in ids if genome_id not in run]
    if missing:
        raise InputError(f"{heads_path}: no genome {', '.join(missing)} (it has {', '.join(run) or 'none'}); give "
                         "the genome ids the motifs step was run with, or run pygenome motifs on these genomes")
    recurrence_path = output("motifs", "recurrence").path(folder, prefix)
    recurrence = None
    if len(run) > 1:
        recurrence = read_table(recurrence_path, RECURRENCE_COLUMNS, WRITTEN_BY, TEXT_COLUMNS)
    motifs = heads[heads["motif"] != ""]
    matrices = {}
    if len(motifs):
        meme = output("motifs", "meme").path(folder, prefix)
        matrices = {motif.name: motif for motif in read_motifs(meme)}
        absent = sorted(set(motifs["motif"]) - set(matrices))
        if absent:
            raise InputError(f"{meme}: no motif {absent[0]} of {heads_path.name}; give the files of one motifs run")
    return heads, recurrence, matrices


def at_fraction(motif) -> float:
    """The mean over a motif's columns of P(A) + P(T)."""
    frequencies = probabilities(motif)
    return float((frequencies[:, LETTERS.index("A")] + frequencies[:, LETTERS.index("T")]).mean())


def group_members(heads: pd.DataFrame, recurrence: pd.DataFrame | None, matrices: dict, gc: dict,
                  where="recurrence.tsv") -> pd.DataFrame:
    """The long table: every motif of a group that recurs in two or more of the genomes of ``gc`` (genome → GC);
    ``where`` names the recurrence table in errors."""
    if recurrence is None or not len(recurrence):
        return pd.DataFrame(columns=MOTIF_COLUMNS)
    motifs = heads[heads["motif"] != ""].drop(columns="consensus")
    table = recurrence.merge(motifs, on=["genome", "head_id", "peak_offset"], how="left", validate="one_to_one")
    unmatched = table[table["motif"].isna()]
    if len(unmatched):
        row = unmatched.iloc[0]
        raise InputError(f"{where}: {row.genome} {row.head_id} (peak at {row.peak_offset:+.0f}) has no motif in "
                         "heads.tsv; give the files of one motifs run")
    table = table[table["genome"].isin(list(gc))]
    table = table[table["cluster"].map(table.groupby("cluster")["genome"].nunique()) > 1].copy()
    table["group"] = "group" + table["cluster"].astype(int).astype(str)
    table["gc"] = table["genome"].map(gc)
    table["at_fraction"] = [at_fraction(matrices[name]) for name in table["motif"]]
    for column in ("motif_start", "motif_end", "width"):
        table[column] = table[column].astype(int)
    order = {genome_id: rank for rank, genome_id in enumerate(gc)}
    table = table.assign(_genome=table["genome"].map(order)).sort_values(
        ["cluster", "_genome", "q_value", "information_content", "head_id"], ascending=[True, True, True, False, True],
        na_position="last", kind="stable")
    table["representative"] = (~table.duplicated(["cluster", "genome"])).astype(np.int8)
    return table[MOTIF_COLUMNS].reset_index(drop=True)


def trend(x, y) -> dict:
    """The least-squares line of ``y`` on ``x`` and their Pearson and Spearman correlations; all None with fewer than
    three points or a constant variable."""
    from scipy import stats

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    result = {"n": int(x.size), "slope": None, "intercept": None, "pearson_r": None, "pearson_p": None,
              "spearman_r": None, "spearman_p": None}
    if x.size < MIN_GENOMES_FOR_TREND or np.ptp(x) == 0 or np.ptp(y) == 0:
        return result
    line = stats.linregress(x, y)
    pearson, spearman = stats.pearsonr(x, y), stats.spearmanr(x, y)
    return result | {"slope": float(line.slope), "intercept": float(line.intercept),
                     "pearson_r": float(pearson.statistic), "pearson_p": float(pearson.pvalue),
                     "spearman_r": float(spearman.statistic), "spearman_p": float(spearman.pvalue)}


def _group_summary(name: str, rows: pd.DataFrame) -> dict:
    best = rows.sort_values(["q_value", "information_content"], ascending=[True, False], na_position="last",
                            kind="stable").iloc[0]
    shown = rows[rows["representative"] == 1]
    return {"group": name, "consensus": best["consensus"], "genomes": list(shown["genome"]), "motifs": len(rows),
            "at_fraction_vs_gc": trend(shown["gc"], shown["at_fraction"])}


def _offset(start: int, end: int) -> str:
    return f"{start:+d}..{end:+d}"


def _wide(table: pd.DataFrame, members: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """The wide table: the genome columns, then four columns per group (empty where a genome lacks it)."""
    wide = table.copy()
    for group in groups:
        rows = members[members["group"] == group]
        shown = rows[rows["representative"] == 1].set_index("genome")
        heads = rows.groupby("genome", sort=False)["head_id"].agg(lambda ids: ",".join(dict.fromkeys(ids)))
        wide[f"{group}_consensus"] = wide["genome"].map(shown["consensus"])
        wide[f"{group}_offset"] = wide["genome"].map(
            {g: _offset(r.motif_start, r.motif_end) for g, r in shown.iterrows()})
        wide[f"{group}_at_fraction"] = wide["genome"].map(shown["at_fraction"])
        wide[f"{group}_heads"] = wide["genome"].map(heads)
    return wide


def group_logos(rows: pd.DataFrame, matrices: dict, title: str, png, svg) -> None:
    """Logos (bits) of the motifs ``rows`` (long-table rows, one per genome, in order), one row per genome on a
    shared axis of offsets from the site, labelled with the genome, its GC and the head, as PNG and SVG
    (:func:`pygenome.interpret.logos.stacked_logos`)."""
    logos.stacked_logos([probabilities(matrices[row.motif]) for row in rows.itertuples()],
                        [int(start) for start in rows["motif_start"]],
                        [f"{row.genome}  ·  GC {row.gc:.3f}  ·  {row.head_id}  ·  {row.consensus} at "
                         f"{_offset(row.motif_start, row.motif_end)}" for row in rows.itertuples()], title, png, svg)
