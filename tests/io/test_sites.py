import numpy as np
import pandas as pd
import pytest

from pygenome.errors import InputError
from pygenome.io.genome import Contig, read_genome
from pygenome.io.sites import (
    call_sites,
    control_queries,
    distance_to_nearest,
    read_intervals,
    read_sites_bed,
    site_labels,
    write_sites_bed,
)


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


def test_control_queries_keep_away_from_sites_around_the_origin():
    class Genome:
        contigs = [Contig("a", 1000, True, ""), Contig("b", 300, False, "")]

        def contig(self, name):
            return {c.name: c for c in self.contigs}[name]

    sites = pd.DataFrame({"contig": ["a", "a", "b"], "position": [10, 500, 150], "strand": ["+", "-", "+"]})
    controls = control_queries(Genome(), ["a", "b"], sites, 200, seed=4)
    assert len(controls) == 200 and (controls["source"] == "control").all()
    assert not controls.duplicated(["contig", "position", "strand"]).any()
    near = controls[(controls.contig == "a") & (controls.strand == "+")].position
    assert ((near > 110) & (near < 910)).all()  # 10 +- 100, around the origin of the circular contig
    near_b = controls[(controls.contig == "b") & (controls.strand == "+")].position
    assert ((near_b < 50) | (near_b > 250)).all()
    assert controls.equals(control_queries(Genome(), ["a", "b"], sites, 200, seed=4))
    with pytest.raises(InputError, match="ask for fewer"):
        control_queries(Genome(), ["b"], sites, 590, seed=0)
    room = control_queries(Genome(), ["b"], sites, 590, seed=0, at_most=True)  # b: 600 places, 201 near its + site
    assert len(room) == 600 - 201 and not ((room.strand == "+") & room.position.between(50, 250)).any()


def test_distance_to_nearest_site_on_circular_and_linear_contigs():
    positions = np.array([0, 50, 99])
    sites = np.array([10, 95])
    np.testing.assert_array_equal(distance_to_nearest(positions, sites, 100), [5, 40, 4])
    np.testing.assert_array_equal(distance_to_nearest(positions, sites), [10, 40, 4])
