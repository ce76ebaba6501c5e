"""The attention file: attention of every layer and head at query sites, as ``pygenome predict`` writes it.

An ``.npz`` archive holding

- ``attention``: ``float16`` ``(N, layers, heads, context + 1)``; index ``d`` is the key ``d`` nt upstream of the
  output that scores the query, which lies ``shift`` nt downstream of the query, so at ``shift - d`` nt from the query
  on its strand (negative: upstream); keys that do not exist (before a linear contig's start) hold 0;
- ``offset``: ``(context + 1,)``, that position relative to the query (``shift - d``);
- the query table, one entry per row of ``attention``: ``contig``, ``position`` (forward strand, 0-based),
  ``strand``, ``name``, ``score`` (the model's probability at the query), ``label`` (1: a known or labelled site, 0:
  a predicted site or a control) and ``query`` ("site", or "control" for a random position away from every site);
- ``meta``: JSON with the model's architecture (``model``), the genome (``genome``: path, checksum, contigs with
  lengths and topology), the site source and what produced the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pygenome.errors import InputError
from pygenome.io.outputs import save_npz

TABLE = ("contig", "position", "strand", "name", "score", "label", "query")


@dataclass(frozen=True)
class Attention:
    """An attention file in memory: ``weights`` ``(N, layers, heads, context + 1)`` float16, ``queries`` (a table of
    the :data:`TABLE` columns, one row per query), ``offset`` ``(context + 1,)`` and ``meta``."""

    weights: np.ndarray
    queries: pd.DataFrame
    offset: np.ndarray
    meta: dict


def save_attention(path, attention: np.ndarray, queries: pd.DataFrame, meta: dict) -> None:
    """Write ``attention`` ``(N, layers, heads, context + 1)`` and the query table (see the module) to ``path``."""
    shift = meta["model"]["shift"]
    save_npz(path, {
        "meta": np.array(json.dumps(meta, sort_keys=True)),
        "attention": attention.astype(np.float16),
        "offset": shift - np.arange(attention.shape[-1]),
        "contig": queries["contig"].to_numpy(str),
        "position": queries["position"].to_numpy(np.int64),
        "strand": queries["strand"].to_numpy(str),
        "name": queries["name"].to_numpy(str),
        "score": queries["score"].to_numpy(np.float32),
        "label": queries["label"].to_numpy(np.int8),
        "query": queries["query"].to_numpy(str),
    })


def load_attention(path) -> Attention:
    """Read an attention file, checking that it is one."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"meta", "attention", "offset", *TABLE} - set(archive.files)
            if missing:
                raise InputError(f"{path}: not an attention file of pygenome predict (it lacks "
                                 f"{', '.join(sorted(missing))}); re-run pygenome predict with --attention-sites")
            queries = pd.DataFrame({column: archive[column] for column in TABLE})
            return Attention(archive["attention"], queries, archive["offset"], json.loads(str(archive["meta"])))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read it as an attention file ({error})") from error
