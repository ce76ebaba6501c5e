"""Whole-or-nothing outputs (pygenome.io.outputs): a folder output too."""

import pytest

from pygenome.io.outputs import atomic_outputs


def test_a_folder_output_replaces_the_old_one_whole_or_not_at_all(tmp_path):
    final = tmp_path / "figures"
    final.mkdir()
    (final / "old.png").write_text("old")
    with pytest.raises(RuntimeError), atomic_outputs(final) as (temp,):
        temp.mkdir()
        (temp / "new.png").write_text("new")
        raise RuntimeError("interrupted")
    assert [p.name for p in final.iterdir()] == ["old.png"] and not temp.exists()
    with atomic_outputs(final) as (temp,):
        temp.mkdir()
        (temp / "new.png").write_text("new")
    assert [p.name for p in final.iterdir()] == ["new.png"]
