"""The attention file (pygenome.io.attention): what is not one is refused."""

import numpy as np
import pytest

from pygenome.errors import InputError
from pygenome.io.attention import load_attention
from pygenome.io.outputs import save_npz


def test_an_npz_that_is_not_an_attention_file_is_refused(tmp_path):
    save_npz(tmp_path / "x.npz", {"scores": np.zeros(3)})
    with pytest.raises(InputError, match="x.npz: not an attention file.*--attention-sites"):
        load_attention(tmp_path / "x.npz")
