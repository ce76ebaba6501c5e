import numpy as np
import pytest

from pygenome.errors import InputError
from pygenome.io.genome import read_genome
from pygenome.io.sites import call_sites, read_intervals, read_sites_bed, site_labels, write_sites_bed


def signal_with(length, plus=(), minus=()):
    signal = np.zeros((2, length), dtype=np.int32)
    for row, entries in enumerate((plus, minus)):
        for position, count in entries:
            signal[row, position] = count
    return signal


def test_local_maxima_above_min_count_give_one_site_per_cluster():
    signal = signal_with(200, plus=[(50, 9), (52, 12), (55, 3), (80, 6), (81, 6), (150, 4)], minus=[(120, 7)])
    sites = call_sites("c", signal, circular=False, min_count=5, distance=10)
    assert list(zip(sites.position, sites.strand, sites["count"])) == [(52, "+", 12), (80, "+", 6), (120, "-", 7)]
    assert sites.name.tolist() == ["c:53+", "c:81+", "c:121-"]


def test_clusters_wrap_around_the_origin_of_circular_contigs():
    signal = signal_with(100, plus=[(98, 5), (2, 8)])
    assert call_sites("c", signal, circular=True, min_count=5, distance=10).position.tolist() == [2]
    assert call_sites("c", signal, circular=False, min_count=5, distance=10).position.tolist() == [2, 98]


def test_enrichment_against_a_control_library():
    treated = signal_with(100, plus=[(10, 20), (50, 20)])
    control = signal_with(100, plus=[(10, 1), (50, 40)])
    sites = call_sites("c", treated, False, min_count=5, distance=5, control=control, library_sizes=(100, 100),
                       min_enrichment=2.0, pseudocount=1.0)
    assert sites.position.tolist() == [10]
    assert sites.log2_enrichment.iloc[0] == pytest.approx(np.log2(21 / 2))
    # library sizes normalise: the same counts from a control library ten times as deep are 10x less
    deep = call_sites("c", treated, False, 5, 5, control=control, library_sizes=(100, 1000))
    assert deep.position.tolist() == [10, 50]


def test_bed_sites_are_interval_five_prime_ends(tmp_path, fasta):
    bed = tmp_path / "tss.bed"
    bed.write_text("track name=x\n#comment\nchrom\t10\t11\ta\t5\t+\nchrom\t20\t30\tb\t0\t-\nplasmid\t5\t6\n")
    sites = read_sites_bed(bed, read_genome(fasta))
    assert list(zip(sites.contig, sites.position, sites.strand, sites.name)) == [
        ("chrom", 10, "+", "a"), ("chrom", 29, "-", "b"), ("plasmid", 5, "+", "plasmid:6+"),
        ("plasmid", 5, "-", "plasmid:6-")]
    labels = site_labels(sites, "chrom", 5000)
    assert labels.dtype == np.uint8 and labels.sum() == 2 and labels[0, 10] == labels[1, 29] == 1


def test_sites_bed_round_trip(tmp_path, fasta):
    signal = signal_with(5000, plus=[(10, 9)], minus=[(4000, 6)])
    called = call_sites("chrom", signal, True)
    path = tmp_path / "sites.bed"
    write_sites_bed(called, path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("#contig\tstart\tend\tname\tscore\tstrand")
    assert lines[1] == "chrom\t10\t11\tchrom:11+\t9\t+\tcalled\t9\t.\t."
    back = read_sites_bed(path, read_genome(fasta))
    assert back.position.tolist() == [10, 4000] and back.strand.tolist() == ["+", "-"]


@pytest.mark.parametrize("line, message", [
    ("chrX\t1\t2\n", "line 1: contig 'chrX' is not in the genome"),
    ("chrom\t4999\t5001\n", "line 1: interval 4999-5001 is not within chrom"),
    ("chrom\tone\t2\n", "line 1: start and end must be integers"),
    ("chrom 1 2\n", "line 1: a BED line needs tab-separated"),
    ("chrom\t1\t2\tx\t0\t*\n", "line 1: strand '\\*'"),
])
def test_bad_bed_lines_name_the_line(tmp_path, fasta, line, message):
    bed = tmp_path / "bad.bed"
    bed.write_text(line)
    with pytest.raises(InputError, match=message):
        read_sites_bed(bed, read_genome(fasta))


def test_intervals_from_narrowpeak(tmp_path, fasta):
    peaks = tmp_path / "p.narrowPeak"
    peaks.write_text("chrom\t100\t300\tpeak1\t500\t.\t5.0\t-1\t3.2\t100\n")
    assert read_intervals(peaks, read_genome(fasta)).values.tolist() == [["chrom", 100, 300]]
