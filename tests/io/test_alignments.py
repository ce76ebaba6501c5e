"""Read signal from a BAM written with pysam whose reads start at known positions, one read per edge case."""

import shutil

import numpy as np
import pysam
import pytest

from pygenome.errors import InputError
from pygenome.io.alignments import ReadOptions, _read_region, count_signal, open_alignments
from pygenome.io.bam import Columns, bai_path, contig_offsets, read_columns
from pygenome.io.genome import read_genome
from pygenome.pipeline.simulate import Read, write_bam

READS = [
    Read("fwd", "chrom", 100, "50M"),
    Read("rev", "chrom", 200, "50M", 0x10),
    Read("soft_fwd", "chrom", 300, "5S45M"),
    Read("soft_rev", "chrom", 400, "45M5S", 0x10),
    Read("hard_fwd", "chrom", 500, "3H47M"),
    Read("supplementary", "chrom", 600, "50M", 0x800),
    Read("secondary", "chrom", 700, "50M", 0x100),
    Read("duplicate", "chrom", 800, "50M", 0x400),
    Read("qc_fail", "chrom", 900, "50M", 0x200),
    Read("cross_region", "chrom", 995, "50M"),
    Read("low_mapq", "chrom", 1000, "50M", mapq=5),
    Read("origin_fwd", "chrom", 0, "20S30M"),  # 5' end 20 nt before the origin, clipped by the aligner
    Read("origin_rev", "chrom", 4970, "30M20S", 0x10),  # 5' end 20 nt past the end
    Read("pair_r1", "chrom", 1500, "50M", 0x1 | 0x20 | 0x40),
    Read("pair_r2", "chrom", 1600, "50M", 0x1 | 0x10 | 0x80),
    Read("deletion_rev", "chrom", 2000, "20M10D20M", 0x10),
    Read("past_end_rev", "plasmid", 1190, "30M", 0x10),  # aligned across the origin of the circular plasmid
]


def nonzero(array):
    """{strand: [positions]} of a (2, L) signal, each position repeated by its count."""
    return {strand: np.repeat(np.arange(array.shape[1]), array[row]).tolist() for row, strand in enumerate("+-")}


@pytest.fixture
def bam(tmp_path, contigs):
    return write_bam(tmp_path / "reads.bam", contigs, READS)


def count(bam, fasta, topology="auto", **options):
    genome = read_genome(fasta, topology)
    with open_alignments(bam, genome) as alignments:
        return count_signal(alignments, genome, ["chrom", "plasmid"], ReadOptions(**options), progress=False)


def test_five_prime_ends_default(bam, fasta):
    signal, stats = count(bam, fasta)
    assert nonzero(signal["chrom"]) == {"+": [0, 100, 300, 500, 995, 1000, 1500], "-": [249, 444, 2049, 4999]}
    assert nonzero(signal["plasmid"]) == {"+": [], "-": [19]}
    assert stats["chrom"]["seen"] == 16
    assert stats["chrom"]["used"] == 11
    assert stats["chrom"]["dropped"] == {"duplicate": 1, "other_mate": 1, "qc_fail": 1, "secondary": 1,
                                         "supplementary": 1}


def test_unclipped_ends_wrap_around_the_origin(bam, fasta):
    signal, _ = count(bam, fasta, unclipped=True)
    assert nonzero(signal["chrom"]) == {"+": [100, 295, 497, 995, 1000, 1500, 4980],
                                        "-": [19, 249, 449, 2049]}


def test_linear_contigs_drop_reads_off_their_ends(bam, fasta):
    signal, stats = count(bam, fasta, topology="linear", unclipped=True)
    assert nonzero(signal["chrom"])["+"] == [100, 295, 497, 995, 1000, 1500]
    assert stats["chrom"]["dropped"]["off_contig"] == 2
    assert stats["plasmid"]["dropped"] == {"off_contig": 1}


def test_filters_and_keep_options(bam, fasta):
    _, stats = count(bam, fasta, min_mapq=10)
    assert stats["chrom"]["dropped"]["low_mapq"] == 1
    signal, stats = count(bam, fasta, keep_secondary=True, keep_supplementary=True, keep_duplicates=True,
                          keep_qc_fail=True)
    assert stats["chrom"]["used"] == 15
    assert {600, 700, 800, 900} <= set(nonzero(signal["chrom"])["+"])


def test_mate_two_and_reverse_strandedness(bam, fasta):
    signal, stats = count(bam, fasta, mate=2)
    # read 2 of a forward library is antisense: its 5' end (1649) marks the fragment's 3' end on the + strand
    assert 1649 in nonzero(signal["chrom"])["+"] and 1500 not in nonzero(signal["chrom"])["+"]
    flipped, _ = count(bam, fasta, strandedness="reverse")
    forward, _ = count(bam, fasta)
    assert np.array_equal(flipped["chrom"], forward["chrom"][::-1])


def test_unstranded_sums_both_orientations_on_both_rows(bam, fasta):
    signal, _ = count(bam, fasta, strandedness="unstranded")
    forward, _ = count(bam, fasta)
    assert np.array_equal(signal["chrom"][0], forward["chrom"].sum(axis=0))
    assert np.array_equal(signal["chrom"][1], signal["chrom"][0])


def test_three_prime_ends(bam, fasta):
    signal, _ = count(bam, fasta, signal="three_prime")
    plus, minus = nonzero(signal["chrom"]).values()
    assert 149 in plus and 200 in minus and 2000 in minus  # fwd read ends at 149; reverse reads start their 3' end


def test_coverage_counts_aligned_bases_not_deletions(bam, fasta):
    signal, _ = count(bam, fasta, signal="coverage")
    minus = signal["chrom"][1]
    assert minus[2000:2020].tolist() == [1] * 20 and minus[2020:2030].tolist() == [0] * 10
    assert minus[2030:2050].tolist() == [1] * 20
    assert signal["plasmid"][1][1190:].tolist() == [1] * 10 and signal["plasmid"][1][:20].tolist() == [1] * 20
    assert signal["chrom"][0][100:150].min() == 1


def test_the_bam_parser_and_pysam_read_the_same_columns(bam, fasta):
    from_bytes = next(read_columns(bam, 0, contig_offsets(bai_path(bam))[0]))
    from_pysam, _ = _read_region((str(bam), str(fasta), "chrom", 0, 5000, ReadOptions(unclipped=True)))
    assert from_bytes.start.size == 16
    for field in Columns._fields:
        assert getattr(from_bytes, field).tolist() == getattr(from_pysam, field).tolist(), field


@pytest.fixture
def csi_bam(tmp_path, contigs):
    """The same reads indexed with CSI: read through pysam, in regions, by worker processes."""
    path = write_bam(tmp_path / "csi.bam", contigs, READS, index=False)
    pysam.index("-c", str(path))
    assert bai_path(path) is None
    return path


@pytest.mark.parametrize("options", [{}, {"unclipped": True}, {"signal": "three_prime", "mate": 2}])
def test_regions_workers_and_readers_do_not_change_the_result(bam, csi_bam, fasta, options):
    genome = read_genome(fasta)
    with open_alignments(bam, genome) as alignments:
        fast = count_signal(alignments, genome, ["chrom", "plasmid"], ReadOptions(**options), progress=False)
    with open_alignments(csi_bam, genome) as alignments:
        split = count_signal(alignments, genome, ["chrom", "plasmid"], ReadOptions(**options), workers=2,
                             progress=False, region_size=997)
    assert all(np.array_equal(fast[0][name], split[0][name]) for name in fast[0]) and fast[1] == split[1]


def test_missing_index_is_explained_or_built(tmp_path, contigs, fasta):
    bam = write_bam(tmp_path / "noindex.bam", contigs, READS, index=False)
    genome = read_genome(fasta)
    with pytest.raises(InputError, match="no index.*samtools index"):
        open_alignments(bam, genome)
    with open_alignments(bam, genome, build_index=True) as alignments:
        assert alignments.has_index()


def test_unsorted_bam_is_refused(tmp_path, contigs, fasta):
    bam = write_bam(tmp_path / "unsorted.bam", contigs, READS[::-1], sort=False)
    with pytest.raises(InputError, match="sorted by unsorted, not by coordinate.*samtools sort"):
        open_alignments(bam, read_genome(fasta))


def test_contigs_must_match_the_genome(tmp_path, contigs, fasta):
    renamed = write_bam(tmp_path / "renamed.bam", {"chrX": contigs["chrom"]}, [Read("a", "chrX", 5, "10M")])
    with pytest.raises(InputError, match="contig 'chrX' of the alignment header is not in the genome"):
        open_alignments(renamed, read_genome(fasta))
    shorter = write_bam(tmp_path / "short.bam", {"chrom": contigs["chrom"][:-1]}, [Read("a", "chrom", 5, "10M")])
    with pytest.raises(InputError, match="'chrom' is 4999 nt in the alignment header but 5000 nt"):
        open_alignments(shorter, read_genome(fasta))


def test_truncated_and_foreign_files(tmp_path, bam, fasta):
    truncated = tmp_path / "truncated.bam"
    truncated.write_bytes(bam.read_bytes()[:-40])
    shutil.copy(str(bam) + ".bai", str(truncated) + ".bai")
    with pytest.raises(InputError, match="truncated"):
        open_alignments(truncated, read_genome(fasta))
    text = tmp_path / "notes.bam"
    text.write_text("not an alignment file\n")
    with pytest.raises(InputError, match="cannot open as BAM or CRAM"):
        open_alignments(text, read_genome(fasta))
    with pytest.raises(InputError, match="not found"):
        open_alignments(tmp_path / "absent.bam", read_genome(fasta))


def test_cram_gives_the_same_signal(tmp_path, bam, fasta):
    cram = tmp_path / "reads.cram"
    pysam.view("-C", "-T", str(fasta), "-o", str(cram), str(bam), catch_stdout=False)
    pysam.index(str(cram))
    from_bam, _ = count(bam, fasta)
    from_cram, _ = count(cram, fasta)
    assert all(np.array_equal(from_bam[name], from_cram[name]) for name in from_bam)


def test_damaged_bam_is_a_clear_error(tmp_path, contigs, fasta):
    many = [Read(f"r{i}", "chrom", i, "50M") for i in range(0, 4900, 2)]
    bam = write_bam(tmp_path / "many.bam", contigs, many)
    data = bytearray(bam.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    damaged = tmp_path / "damaged.bam"
    damaged.write_bytes(bytes(data))
    shutil.copy(str(bam) + ".bai", str(damaged) + ".bai")
    genome = read_genome(fasta)
    with pytest.raises(InputError, match="damaged"), open_alignments(damaged, genome) as alignments:
        count_signal(alignments, genome, ["chrom"], ReadOptions(), progress=False)


def test_reads_without_cigar_count_at_their_position(tmp_path, contigs, fasta):
    """htslib keeps a mapped record without CIGAR as written (its SAM parser would mark it unmapped)."""
    bam = tmp_path / "nocigar.bam"
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": n, "LN": len(s)} for n, s in contigs.items()]}
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        segment = pysam.AlignedSegment(out.header)
        segment.query_name, segment.flag, segment.reference_id, segment.reference_start = "rev", 0x10, 0, 300
        segment.mapping_quality, segment.query_sequence = 60, "ACGTACGTAC"
        out.write(segment)
    pysam.index(str(bam))
    signal, _ = count(bam, fasta)
    assert nonzero(signal["chrom"])["-"] == [300]
    columns, _ = _read_region((str(bam), None, "chrom", 0, 5000, ReadOptions()))
    assert columns.end.tolist() == [301]


def test_damaged_file_read_through_pysam_is_a_clear_error(tmp_path, contigs, fasta):
    many = [Read(f"r{i}", "chrom", i, "50M") for i in range(0, 4900, 2)]
    bam = write_bam(tmp_path / "many.bam", contigs, many, index=False)
    data = bytearray(bam.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    damaged = tmp_path / "damaged.bam"
    damaged.write_bytes(bytes(data))
    pysam.index("-c", str(bam))
    shutil.copy(str(bam) + ".csi", str(damaged) + ".csi")
    genome = read_genome(fasta)
    with pytest.raises(InputError, match="truncated or corrupt"), open_alignments(damaged, genome) as alignments:
        count_signal(alignments, genome, ["chrom"], ReadOptions(signal="coverage"), progress=False)


def test_an_index_of_another_file_is_named_as_the_cause(tmp_path, contigs, fasta, bam):
    other = write_bam(tmp_path / "other.bam", contigs, [Read(f"o{i}", "chrom", i, "50M") for i in range(4000)]
                      + [Read("p", "plasmid", 10, "50M")])
    stale = tmp_path / "stale.bam"
    shutil.copy(bam, stale)
    shutil.copy(str(other) + ".bai", str(stale) + ".bai")
    genome = read_genome(fasta)
    with pytest.raises(InputError, match="index is not its own"), open_alignments(stale, genome) as alignments:
        count_signal(alignments, genome, ["plasmid"], ReadOptions(), progress=False)


def test_cram_needs_a_bgzip_or_plain_genome(tmp_path, bam, fasta, contigs):
    import gzip

    cram = tmp_path / "reads.cram"
    pysam.view("-C", "-T", str(fasta), "-o", str(cram), str(bam), catch_stdout=False)
    pysam.index(str(cram))
    gzipped = tmp_path / "genome_gzip.fa.gz"
    gzipped.write_bytes(gzip.compress(fasta.read_bytes()))
    with pytest.raises(InputError, match="gzip-compressed; give it plain or bgzip"):
        open_alignments(cram, read_genome(gzipped))


def test_the_compiled_readers_cache_outside_the_package(tmp_path, bam):
    """numba's cache of the BAM readers goes to the user's cache folder, not beside the installed package (read-only
    in containers; a leftover pygenome/__pycache__ in site-packages shadows a later editable install)."""
    import subprocess
    import sys
    from pathlib import Path

    import pygenome

    code = ("import numpy as np, numba, pygenome.io.bam as b; b._u32(np.zeros(4, np.uint8), 0); "
            "print(numba.config.CACHE_DIR)")
    env = {key: value for key, value in __import__("os").environ.items() if key != "NUMBA_CACHE_DIR"}
    result = subprocess.run([sys.executable, "-c", code], env={**env, "XDG_CACHE_HOME": str(tmp_path)},
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str(tmp_path / "pygenome" / "numba")
    cached = list((tmp_path / "pygenome" / "numba").rglob("*.nbi"))
    assert cached and all(Path(pygenome.__file__).parent not in path.parents for path in cached)
