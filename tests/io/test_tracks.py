import numpy as np
import pyBigWig
import pytest

from pygenome.errors import InputError
from pygenome.io.genome import read_genome
from pygenome.io.tracks import (
    Track,
    check_same_genome,
    export_track,
    genome_meta,
    load_track,
    read_track_meta,
    runs,
    save_track,
)


@pytest.fixture
def track(fasta):
    genome = read_genome(fasta)
    arrays = {}
    for contig in genome.contigs:
        array = np.zeros((2, contig.length), dtype=np.int32)
        array[0, 10:13] = 4
        array[1, contig.length - 1] = 7
        arrays[contig.name] = array
    return Track("signal", genome_meta(genome), arrays, {"step": "test"})


def test_round_trip_and_reading_one_contig(tmp_path, track):
    path = tmp_path / "t.track.npz"
    save_track(path, track)
    loaded = load_track(path)
    assert loaded.kind == "signal" and loaded.producer == {"step": "test"}
    assert all(np.array_equal(loaded.arrays[name], array) for name, array in track.arrays.items())
    only = load_track(path, ["plasmid"])
    assert list(only.arrays) == ["plasmid"]
    assert read_track_meta(path)["contigs"] == ["chrom", "plasmid"]
    with pytest.raises(InputError, match="holds no contig 'chrX'"):
        load_track(path, ["chrX"])


def test_same_content_gives_the_same_bytes(tmp_path, track):
    save_track(tmp_path / "a.npz", track)
    save_track(tmp_path / "b.npz", track)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_wrong_shape_writes_nothing(tmp_path, track):
    track.arrays["chrom"] = track.arrays["chrom"][:, :-1]
    with pytest.raises(ValueError, match="expected \\(2, 5000\\)"):
        save_track(tmp_path / "t.npz", track)
    assert not (tmp_path / "t.npz").exists() and not list(tmp_path.glob(".*partial"))


def test_not_a_track(tmp_path):
    path = tmp_path / "x.npz"
    path.write_text("hello")
    with pytest.raises(InputError, match="not a readable pygenome track"):
        load_track(path)


def test_runs_of_equal_values():
    starts, ends, values = runs(np.array([0, 3, 3, 0, 0, 5, 1, 1]))
    assert starts.tolist() == [1, 5, 6] and ends.tolist() == [3, 6, 8] and values.tolist() == [3, 5, 1]


def test_bigwig_and_bedgraph_export(tmp_path, track):
    plus, minus = export_track(track, tmp_path / "sig", "bigwig")
    with pyBigWig.open(str(plus)) as bw:
        assert bw.chroms() == {"chrom": 5000, "plasmid": 1200}
        assert bw.intervals("chrom") == ((10, 13, 4.0),)
    with pyBigWig.open(str(minus)) as bw:
        assert bw.intervals("plasmid") == ((1199, 1200, 7.0),)
    plus, minus = export_track(track, tmp_path / "sig", "bedgraph")
    assert plus.read_text().splitlines()[1:] == ["chrom\t10\t13\t4", "plasmid\t10\t13\t4"]
    assert minus.read_text().splitlines()[1:] == ["chrom\t4999\t5000\t7", "plasmid\t1199\t1200\t7"]


def test_bed_export(tmp_path, track):
    (bed,) = export_track(track, tmp_path / "sites", "bed")
    lines = bed.read_text().splitlines()
    assert lines[0] == "chrom\t10\t11\tchrom:11+\t4\t+"
    assert lines[3] == "chrom\t4999\t5000\tchrom:5000-\t7\t-"
    assert len(lines) == 8


def test_check_same_genome(tmp_path, track):
    other = tmp_path / "other.fa"
    other.write_text(">chrom\nACGT\n")
    with pytest.raises(InputError, match="re-run the label step"):
        check_same_genome(track, read_genome(other), "labels.npz")


def test_dense_tracks_go_to_bigwig_in_fixed_steps(tmp_path, fasta):
    genome = read_genome(fasta)
    rng = np.random.default_rng(0)
    arrays = {c.name: rng.random((2, c.length), dtype=np.float32) for c in genome.contigs}
    plus, minus = export_track(Track("scores", genome_meta(genome), arrays), tmp_path / "s", "bigwig")
    with pyBigWig.open(str(minus)) as bw:
        np.testing.assert_allclose(bw.values("plasmid", 0, 1200), arrays["plasmid"][1], rtol=1e-6)
