"""Multi-node training under Slurm: ``python -m pygenome.pipeline.slurm [torchrun options] -m pygenome train …`` runs
torchrun with its rendezvous taken from the job's Slurm variables, so the image needs no Slurm tools (``srun``,
``scontrol``) of its own. Start it once per node (``srun --ntasks-per-node=1``, which runs on the host): every node
then agrees on

- ``--nnodes``: ``SLURM_JOB_NUM_NODES`` (or ``SLURM_NNODES``);
- ``--rdzv-id``: ``SLURM_JOB_ID``, so two jobs on the same nodes never join each other;
- ``--rdzv-endpoint``: the job's first node (from ``SLURM_JOB_NODELIST``, expanded here) on a port derived from the
  job id (29400 + job id mod 1000), so concurrent jobs sharing a first node use different ports.
"""

from __future__ import annotations

import os
import re
import sys

from pygenome.errors import InputError

PORT_BASE = 29400


def first_host(nodelist: str) -> str:
    """The first host of a Slurm hostlist: ``gpu[03-05,07],cpu1`` → ``gpu03``."""
    match = re.match(r"([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if not match or not match.group(1):
        raise InputError(f"SLURM_JOB_NODELIST {nodelist!r}: not a Slurm host list")
    prefix, ranges = match.groups()
    if ranges is None:
        return prefix
    return prefix + ranges.split(",")[0].split("-")[0]


def rendezvous(environ=None) -> list[str]:
    """torchrun's rendezvous options for this Slurm job (see the module)."""
    environ = os.environ if environ is None else environ
    missing = [name for name in ("SLURM_JOB_ID", "SLURM_JOB_NODELIST") if not environ.get(name)]
    nodes = environ.get("SLURM_JOB_NUM_NODES") or environ.get("SLURM_NNODES")
    if missing or not nodes:
        raise InputError("python -m pygenome.pipeline.slurm runs inside a Slurm job (no "
                         f"{', '.join(missing) or 'SLURM_NNODES'}); start it with srun --ntasks-per-node=1 in a job "
                         "of several nodes")
    job = environ["SLURM_JOB_ID"]
    port = PORT_BASE + int(re.sub(r"\D", "", job) or 0) % 1000
    return [f"--nnodes={nodes}", "--rdzv-backend=c10d", f"--rdzv-id={job}",
            f"--rdzv-endpoint={first_host(environ['SLURM_JOB_NODELIST'])}:{port}"]


def main(argv=None) -> None:
    from torch.distributed.run import main as torchrun

    argv = sys.argv[1:] if argv is None else argv
    try:
        options = rendezvous()
    except InputError as error:
        print(f"pygenome.pipeline.slurm: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    torchrun([*options, *argv])


if __name__ == "__main__":
    main()
