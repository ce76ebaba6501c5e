"""What each step writes, declared once (pygenome/io/layout.py): contigs' file-name keys never collide, and the steps
write the files their declarations name."""

import pytest

from pygenome.io import layout
from pygenome.io.layout import file_keys, output, safe_name, suffixes
from pygenome.steps.baseline import baseline


def test_file_keys_are_safe_and_never_collide():
    names = ["chr 1", "ctg_1", "ctg|1", "CTG_1", "plasmid/pX", "ctg_1_2"]
    keys = file_keys(names)
    assert keys == ["chr_1", "ctg_1", "ctg_1_2", "CTG_1_3", "plasmid_pX", "ctg_1_2_2"]
    assert len({key.lower() for key in keys}) == len(keys)  # apart on case-insensitive file systems too
    assert all(safe_name(key) == key for key in keys)
    assert file_keys(["chromosome", "plasmid"]) == ["chromosome", "plasmid"]  # plain names as they are


def test_suffixes_and_paths():
    assert suffixes("label", required_only=True) == ["labels.track.npz", "sites.bed", "qc.json"]
    assert "recurrence.tsv" in suffixes("motifs") and "recurrence.tsv" not in suffixes("motifs", required_only=True)
    assert str(output("predict", "scores").path("out", "g.chr")) == "out/g.chr.scores.track.npz"
    assert set(layout.PROCESSES.values()) == set(layout.STEPS)


def test_a_step_writes_what_its_declaration_names(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">c\n" + "ACGTTATAATGCA" * 20 + "\n")
    written = baseline(fasta, tmp_path, "g")
    assert written == output("baseline", "scores").path(tmp_path, "g") and written.is_file()


@pytest.mark.parametrize("prefix", ["../x", "a/b", "..", ""])
def test_a_prefix_that_would_write_outside_the_output_folder_is_refused(tmp_path, capsys, prefix):
    from pygenome.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["baseline", "--fasta", str(tmp_path / "g.fa"), "--outdir", str(tmp_path / "out"), "--prefix", prefix])
    assert stopped.value.code == 2 and "is not a file-name prefix" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not list(tmp_path.parent.glob("x*"))
