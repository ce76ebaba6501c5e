import gzip

import numpy as np
import pytest

from pygenome.errors import InputError
from pygenome.io.genome import decode, encode, genome_checksum, one_hot, read_genome, reverse_complement, windows
from pygenome.pipeline.simulate import write_fasta


def test_encode_maps_bases_iupac_and_case():
    assert encode("ACGTacgtU").tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 3]
    assert set(encode("NRYSWKMBDHVnrykm").tolist()) == {4}


def test_encode_names_the_bad_character_and_where():
    with pytest.raises(InputError, match=r"genome.fa: record 2.*'-' at position 3"):
        encode("AC-GT", "genome.fa: record 2")


def test_reverse_complement_and_decode():
    assert decode(reverse_complement(encode("AACGTN"))) == "NACGTT"
    batch = np.stack([encode("AAC"), encode("GTT")])
    assert [decode(row) for row in reverse_complement(batch)] == ["GTT", "AAC"]


def test_one_hot_is_channels_first_with_n_as_zeros():
    hot = one_hot(encode("ACGTN"))
    assert hot.shape == (4, 5)
    assert hot[:, 4].sum() == 0
    assert hot.argmax(axis=0)[:4].tolist() == [0, 1, 2, 3]


def test_windows_wrap_on_circular_and_pad_on_linear():
    codes = encode("ACGTACGTAA")
    assert decode(windows(codes, [-2], 5, circular=True)[0]) == "AAACG"
    assert decode(windows(codes, [8], 4, circular=True)[0]) == "AAAC"
    assert decode(windows(codes, [-2], 5, circular=False)[0]) == "NNACG"
    assert decode(windows(codes, [8], 4, circular=False)[0]) == "AANN"
    assert windows(codes, [0, 3, 9], 6, circular=True).shape == (3, 6)


def test_read_genome_topology_from_header_and_override(tmp_path):
    path = tmp_path / "g.fa"
    path.write_text(">chrom [topology=circular] complete\nACGT\nAC\n>pl plasmid\nGGNN\n")
    genome = read_genome(path)
    assert [(c.name, c.length, c.circular) for c in genome.contigs] == [("chrom", 6, True), ("pl", 4, False)]
    assert decode(genome.codes["chrom"]) == "ACGTAC"
    assert [c.circular for c in read_genome(path, "circular").contigs] == [True, True]
    assert [c.circular for c in read_genome(path, "linear").contigs] == [False, False]


def test_gzip_and_bgzip_read_the_same_genome(tmp_path, contigs):
    plain = write_fasta(tmp_path / "g.fa", [(n, s, None) for n, s in contigs.items()])
    bgzipped = write_fasta(tmp_path / "g.fa.gz", [(n, s, None) for n, s in contigs.items()])
    gzipped = tmp_path / "g2.fa.gz"
    gzipped.write_bytes(gzip.compress(plain.read_bytes()))
    checksums = {read_genome(p).checksum for p in (plain, bgzipped, gzipped)}
    assert len(checksums) == 1


def test_checksum_follows_content_not_case(tmp_path):
    a = tmp_path / "a.fa"
    a.write_text(">x\nACGT\n")
    b = tmp_path / "b.fa"
    b.write_text(">x\nacgt\n")
    c = tmp_path / "c.fa"
    c.write_text(">x\nACGA\n")
    assert read_genome(a).checksum == read_genome(b).checksum != read_genome(c).checksum
    assert read_genome(a).contigs[0].md5 == "f1f8f4bf413b16ad135722aa4591043e"  # md5("ACGT")
    assert genome_checksum(read_genome(a).contigs) == read_genome(a).checksum


@pytest.mark.parametrize("text, message", [
    (">a\nACGT\n>a\nGG\n", "record 2 \\('a'\\): duplicate contig name"),
    ("", "no FASTA records"),
    (">a\n\n>b\nAC\n", "record 1 \\('a'\\): empty sequence"),
    (">a\nAC*GT\n", "record 1 \\('a'\\): character '\\*'"),
])
def test_bad_fasta_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.fa"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_genome(path)


def test_missing_fasta_and_unknown_contig(tmp_path, fasta):
    with pytest.raises(InputError, match="not found"):
        read_genome(tmp_path / "nope.fa")
    with pytest.raises(InputError, match="no contig named 'chr9'"):
        read_genome(fasta).contig("chr9")


def test_truncated_or_binary_fasta_is_a_clear_error(tmp_path, contigs):
    whole = write_fasta(tmp_path / "g.fa.gz", [(n, s * 20, None) for n, s in contigs.items()])
    cut = tmp_path / "cut.fa.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError, match="truncated download"):
        read_genome(cut)
    binary = tmp_path / "noise.fa"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="cannot read as FASTA"):
        read_genome(binary)
