"""The label step end to end: planted sites in a synthetic genome must come back exactly."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from pygenome.cli import main
from pygenome.errors import InputError
from pygenome.io.tracks import load_track
from pygenome.pipeline.simulate import Read, tss_reads, write_bam
from pygenome.steps.label import label


@pytest.fixture
def planted(contigs):
    """Sites on both strands of both contigs, two within 10 nt of an origin, at least 60 nt apart."""
    rng = np.random.default_rng(11)
    rows = [("chrom", 3, "-"), ("chrom", 4995, "+"), ("plasmid", 1195, "-")]
    for position in rng.choice(np.arange(100, 4900, 60), size=30, replace=False):
        rows.append(("chrom", int(position), "+" if rng.random() < 0.5 else "-"))
    for position in (300, 700):
        rows.append(("plasmid", position, "+"))
    return pd.DataFrame(rows, columns=["contig", "position", "strand"]).sort_values(["contig", "position"])


@pytest.fixture
def tss_bam(tmp_path, contigs, planted):
    rng = np.random.default_rng(12)
    reads = tss_reads(planted, contigs, rng.integers(6, 20, len(planted)), 40, rng)
    # background: scattered single reads, all below the minimum count
    noise = pd.DataFrame({"contig": "chrom", "position": rng.choice(np.arange(5000), 40, replace=False),
                          "strand": rng.choice(["+", "-"], 40)})
    noise = noise[~noise.position.isin(planted.position)]
    reads += tss_reads(noise, contigs, 1, 40, rng, prefix="noise")
    # reads that must not count: duplicates, secondary and low-MAPQ piles at a decoy position
    reads += [Read(f"dup{i}", "chrom", 2222, "40M", 0x400) for i in range(10)]
    reads += [Read(f"sec{i}", "chrom", 2333, "40M", 0x100) for i in range(10)]
    reads += [Read(f"lowq{i}", "chrom", 2444, "40M", mapq=3) for i in range(10)]
    return write_bam(tmp_path / "tss.bam", contigs, reads)


def run_label(*args):
    return main(["label", "--quiet", *map(str, args)])


def test_called_sites_equal_the_planted_ones(tmp_path, fasta, tss_bam, planted):
    out = tmp_path / "out"
    assert run_label("--fasta", fasta, "--bam", tss_bam, "--outdir", out, "--prefix", "g1", "--min-mapq", 10) == 0
    sites = pd.read_csv(out / "g1.sites.bed", sep="\t")
    called = set(zip(sites["#contig"], sites.start, sites.strand))
    assert called == set(planted.itertuples(index=False, name=None))
    labels = load_track(out / "g1.labels.track.npz")
    assert sum(int(a.sum()) for a in labels.arrays.values()) == len(planted)
    assert labels.arrays["chrom"][1, 3] == 1 and labels.arrays["chrom"][0, 4995] == 1
    signal = load_track(out / "g1.signal.track.npz")
    assert signal.kind == "signal" and signal.genome["checksum"] == labels.genome["checksum"]
    qc = json.loads((out / "g1.qc.json").read_text())
    assert qc["reads"]["dropped"] == {"duplicate": 10, "low_mapq": 10, "secondary": 10}
    assert qc["sites"]["total"] == len(planted)
    assert qc["contigs"]["plasmid"]["sites_called"] == 3


def test_outputs_are_reproducible_to_the_byte(tmp_path, fasta, tss_bam):
    for name in ("a", "b"):
        assert run_label("--fasta", fasta, "--bam", tss_bam, "--outdir", tmp_path / name, "--prefix", "g") == 0
    for output in ("signal.track.npz", "labels.track.npz", "sites.bed", "qc.json"):
        assert (tmp_path / "a" / f"g.{output}").read_bytes() == (tmp_path / "b" / f"g.{output}").read_bytes()


def test_one_contig_per_task(tmp_path, fasta, tss_bam):
    out = tmp_path / "out"
    assert run_label("--fasta", fasta, "--bam", tss_bam, "--contig", "plasmid", "--outdir", out, "--prefix", "p") == 0
    track = load_track(out / "p.labels.track.npz")
    assert list(track.arrays) == ["plasmid"] and len(track.genome["contigs"]) == 2
    assert set(pd.read_csv(out / "p.sites.bed", sep="\t")["#contig"]) == {"plasmid"}


def test_control_library_removes_unenriched_sites(tmp_path, contigs, fasta, planted, tss_bam):
    rng = np.random.default_rng(5)
    # the control library has as many reads as the treated one at the first five sites: processed, not primary ends
    depleted = planted.iloc[:5]
    control = write_bam(tmp_path / "control.bam", contigs, tss_reads(depleted, contigs, 40, 40, rng))
    out = tmp_path / "out"
    assert run_label("--fasta", fasta, "--bam", tss_bam, "--control-bam", control, "--outdir", out, "--prefix",
                     "g", "--min-mapq", 10) == 0
    sites = pd.read_csv(out / "g.sites.bed", sep="\t")
    assert len(sites) == len(planted) - 5
    assert not set(zip(sites["#contig"], sites.start)) & set(zip(depleted.contig, depleted.position))
    assert (sites.log2_enrichment >= 1).all()


def test_known_sites_and_called_sites_are_united(tmp_path, fasta, tss_bam, planted):
    bed = tmp_path / "known.bed"
    bed.write_text("chrom\t4001\t4002\tknownA\t0\t+\n" + "".join(
        f"{c}\t{p}\t{p + 1}\tk\t0\t{s}\n" for c, p, s in planted.iloc[:3].itertuples(index=False)))
    out = tmp_path / "out"
    assert run_label("--fasta", fasta, "--bam", tss_bam, "--sites", bed, "--outdir", out, "--prefix", "g",
                     "--min-mapq", 10) == 0
    sites = pd.read_csv(out / "g.sites.bed", sep="\t")
    assert len(sites) == len(planted) + 1
    assert sites.loc[sites.start == 4001, "source"].tolist() == ["known"]


def test_labels_from_known_sites_alone(tmp_path, fasta):
    bed = tmp_path / "known.bed"
    bed.write_text("chrom\t10\t11\ta\t0\t+\nplasmid\t50\t60\tb\t0\t-\n")
    out = tmp_path / "out"
    assert run_label("--fasta", fasta, "--sites", bed, "--outdir", out, "--prefix", "k") == 0
    track = load_track(out / "k.labels.track.npz")
    assert np.flatnonzero(track.arrays["plasmid"][1]).tolist() == [59]
    assert not (out / "k.signal.track.npz").exists()


def test_binned_labels_from_peaks(tmp_path, fasta):
    a, b = tmp_path / "tfA.narrowPeak", tmp_path / "tfB.bed"
    a.write_text("chrom\t100\t200\tp\t0\t.\t1\t1\t1\t50\n")
    b.write_text("chrom\t0\t40\nchrom\t4960\t5000\nplasmid\t0\t1200\n")
    out = tmp_path / "out"
    assert run_label("--fasta", fasta, "--peaks", a, b, "--bin-length", 100, "--bin-stride", 50,
                     "--min-overlap", 0.5, "--outdir", out, "--prefix", "bins") == 0
    bins = pd.read_csv(out / "bins.bins.bed", sep="\t")
    assert list(bins.columns) == ["#contig", "start", "end", "tfA", "tfB"]
    assert bins.loc[bins.tfA == 1, "start"].tolist() == [50, 100, 150]
    chrom = bins[bins["#contig"] == "chrom"]
    assert chrom.loc[chrom.tfB == 1, "start"].tolist() == []  # 40 of 100 nt covered at either end: below half
    assert (bins.loc[bins["#contig"] == "plasmid", "tfB"] == 1).all() and len(chrom) == 99


def test_bad_input_writes_nothing_and_keeps_earlier_outputs(tmp_path, fasta, tss_bam, capsys):
    out = tmp_path / "out"
    assert run_label("--fasta", fasta, "--bam", tss_bam, "--outdir", out, "--prefix", "g") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.bed"
    bad.write_text("chrom\t10\t11\nchr9\t5\t6\n")
    assert run_label("--fasta", fasta, "--bam", tss_bam, "--sites", bad, "--outdir", out, "--prefix", "g") == 2
    assert "bad.bed: line 2: contig 'chr9' is not in the genome" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_empty_bam_and_nothing_to_label(tmp_path, contigs, fasta, capsys):
    empty = write_bam(tmp_path / "empty.bam", contigs, [])
    assert run_label("--fasta", fasta, "--bam", empty, "--outdir", tmp_path / "o", "--prefix", "e") == 2
    assert "no mapped reads" in capsys.readouterr().err
    assert run_label("--fasta", fasta, "--outdir", tmp_path / "o", "--prefix", "e") == 2
    assert "nothing to label from" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_export_subcommand(tmp_path, fasta, tss_bam):
    out = tmp_path / "out"
    assert run_label("--fasta", fasta, "--bam", tss_bam, "--outdir", out, "--prefix", "g") == 0
    assert main(["export", str(out / "g.signal.track.npz"), "--format", "bigwig", "--outdir", str(out),
                 "--prefix", "g"]) == 0
    assert (out / "g.plus.bw").exists() and (out / "g.minus.bw").exists()


def test_one_contig_at_a_time_calls_the_sites_of_the_whole_genome(tmp_path, contigs, fasta, planted, tss_bam):
    rng = np.random.default_rng(5)
    control = write_bam(tmp_path / "control.bam", contigs, tss_reads(planted.iloc[:8], contigs, 9, 40, rng))
    common = ["--fasta", fasta, "--bam", tss_bam, "--control-bam", control, "--min-mapq", 10]
    assert run_label(*common, "--outdir", tmp_path / "all", "--prefix", "g") == 0
    assert run_label(*common, "--contig", "plasmid", "--outdir", tmp_path / "one", "--prefix", "g") == 0
    whole = pd.read_csv(tmp_path / "all" / "g.sites.bed", sep="\t")
    alone = pd.read_csv(tmp_path / "one" / "g.sites.bed", sep="\t")
    pd.testing.assert_frame_equal(whole[whole["#contig"] == "plasmid"].reset_index(drop=True), alone)


def test_a_contig_without_reads_gets_a_zero_signal_and_a_warning(tmp_path, contigs, fasta, capsys):
    bam = write_bam(tmp_path / "chrom_only.bam", contigs, [Read(f"r{i}", "chrom", 100, "30M") for i in range(6)])
    assert run_label("--fasta", fasta, "--bam", bam, "--contig", "plasmid", "--outdir", tmp_path, "--prefix",
                     "p") == 0
    assert "no alignments on plasmid: its signal is zero" in capsys.readouterr().err
    assert load_track(tmp_path / "p.signal.track.npz").arrays["plasmid"].sum() == 0


def test_headers_without_topology_are_warned_about(tmp_path, contigs, capsys):
    fasta = tmp_path / "untagged.fa"
    fasta.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in contigs.items()))
    bed = tmp_path / "s.bed"
    bed.write_text("chrom\t10\t11\tx\t0\t+\n")
    assert run_label("--fasta", fasta, "--sites", bed, "--outdir", tmp_path, "--prefix", "u") == 0
    assert "no [topology=...] in the header of chrom, plasmid: read as linear" in capsys.readouterr().err
    assert run_label("--fasta", fasta, "--sites", bed, "--topology", "circular", "--outdir", tmp_path, "--prefix",
                     "u") == 0
    assert "warning" not in capsys.readouterr().err


def test_a_rerun_with_other_inputs_leaves_no_stale_outputs(tmp_path, fasta, tss_bam):
    assert run_label("--fasta", fasta, "--bam", tss_bam, "--outdir", tmp_path, "--prefix", "g") == 0
    bed = tmp_path / "known.bed.gz"
    bed.write_bytes(__import__("gzip").compress(b"chrom\t10\t11\tx\t0\t+\n"))
    assert run_label("--fasta", fasta, "--sites", bed, "--outdir", tmp_path, "--prefix", "g") == 0
    assert not (tmp_path / "g.signal.track.npz").exists()
    assert (tmp_path / "g.labels.track.npz").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--pseudocount", "0", "pseudocount must be positive"),
    ("--min-enrichment", "-1", "min_enrichment and pseudocount must be positive"),
    ("--min-mapq", "-5", "min_mapq must be 0 or more"),
    ("--threads", "0", "threads must be at least 1"),
    ("--bin-length", "0", "bin length and stride must be positive"),
])
def test_impossible_settings_are_refused(tmp_path, fasta, tss_bam, capsys, option, value, message):
    assert run_label("--fasta", fasta, "--bam", tss_bam, option, value, "--outdir", tmp_path, "--prefix", "g") == 2
    assert message in capsys.readouterr().err


def _cram(bam, fasta, folder):
    cram = folder / (bam.stem + ".cram")
    pysam.view("-C", "-T", str(fasta), "-o", str(cram), str(bam), catch_stdout=False)
    pysam.index(str(cram))
    return cram


@pytest.mark.parametrize("with_control", [False, True], ids=["treated", "with_control"])
def test_a_cram_labels_as_the_bam_it_came_from(tmp_path, with_control):
    """The same sites, labels and library sizes from a CRAM as from its BAM (a CRAM index keeps no counts: pysam
    reports zero mapped reads, which once stopped the step with "no mapped reads")."""
    data = Path(__file__).resolve().parents[2] / "assets" / "test"
    fasta = Path(shutil.copy(data / "alpha.fa", tmp_path / "alpha.fa"))  # htslib writes its .fai beside it
    treated, control = data / "alpha.tex_plus.bam", data / "alpha.tex_minus.bam"
    runs = {}
    for kind in ("bam", "cram"):
        files = (treated, control) if kind == "bam" else tuple(_cram(b, fasta, tmp_path) for b in (treated, control))
        qc = label(fasta, tmp_path / kind, "alpha", bam=files[0], control_bam=files[1] if with_control else None,
                   progress=False)
        runs[kind] = (qc, load_track(tmp_path / kind / "alpha.labels.track.npz"),
                      (tmp_path / kind / "alpha.sites.bed").read_bytes())
    (bam_qc, bam_labels, bam_sites), (cram_qc, cram_labels, cram_sites) = runs["bam"], runs["cram"]
    assert cram_qc["reads"] == bam_qc["reads"] and cram_qc.get("control_reads") == bam_qc.get("control_reads")
    assert cram_qc["sites"] == bam_qc["sites"] and cram_sites == bam_sites
    assert all(np.array_equal(cram_labels.arrays[name], bam_labels.arrays[name]) for name in bam_labels.arrays)


def test_a_stale_index_is_refused(tmp_path):
    """A BAM subsampled after it was indexed, its old index kept: once 39 % fewer sites with exit 0."""
    data = Path(__file__).resolve().parents[2] / "assets" / "test"
    bam = tmp_path / "alpha.bam"
    shutil.copy(data / "alpha.tex_plus.bam.bai", tmp_path / "alpha.bam.bai")
    with pysam.AlignmentFile(data / "alpha.tex_plus.bam") as source, \
            pysam.AlignmentFile(bam, "wb", template=source) as subsample:
        for number, read in enumerate(source):
            if number % 3:
                subsample.write(read)
    with pytest.raises(InputError, match=r"alpha\.bam: its index counts \d+ records on chrom, but the file holds "
                                         r"\d+: the index belongs to an earlier version of the file; re-index it"):
        label(data / "alpha.fa", tmp_path / "out", "alpha", bam=bam, progress=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_paired_library_is_normalised_as_its_single_end_reads(tmp_path, contigs, fasta, planted, tss_bam):
    """The library size counts, of paired reads, the mate counted as signal: a paired treated library (each read 1 of
    the single-end library given a mate 2 downstream) calls the sites that its single-end reads call against the
    same control (once: half as many, as both mates were counted)."""
    import pysam

    paired = tmp_path / "paired.bam"
    with pysam.AlignmentFile(tss_bam) as source:
        records = []
        for read in source:
            mate = pysam.AlignedSegment(source.header)
            mate.query_name, mate.reference_id, mate.cigarstring = read.query_name, read.reference_id, "20M"
            mate.reference_start = (read.reference_start + 100) % (source.get_reference_length(read.reference_name)
                                                                   - 40)
            mate.query_sequence, mate.mapping_quality = "A" * 20, 60
            read.flag |= 0x1 | 0x40
            mate.flag = 0x1 | 0x80 | (0 if read.is_reverse else 0x10)
            records += [read, mate]
        with pysam.AlignmentFile(paired, "wb", header=source.header) as target:
            for record in sorted(records, key=lambda r: (r.reference_id, r.reference_start)):
                target.write(record)
    pysam.index(str(paired))
    rng = np.random.default_rng(2)
    control = write_bam(tmp_path / "control.bam", contigs, tss_reads(planted.iloc[:10], contigs, 30, 40, rng))
    qc = {}
    for name, bam in (("single", tss_bam), ("paired", paired)):
        assert run_label("--fasta", fasta, "--bam", bam, "--control-bam", control, "--outdir", tmp_path / name,
                         "--prefix", "g") == 0
        qc[name] = json.loads((tmp_path / name / "g.qc.json").read_text())
    assert qc["paired"]["reads"]["library_size"] == qc["single"]["reads"]["library_size"] > 0
    assert (tmp_path / "paired" / "g.sites.bed").read_text() == (tmp_path / "single" / "g.sites.bed").read_text()
