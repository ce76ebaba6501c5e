"""5'-end counts on a real BAM (nanopore reads of E. coli, ../shared/data) against samtools' own reading of it."""

import re
import shutil
import subprocess
from collections import Counter

import pytest

from pygenome.io.alignments import ReadOptions, count_signal, open_alignments
from pygenome.io.genome import read_genome
from tests.conftest import shared_file

pytestmark = pytest.mark.shared_data


def samtools_five_prime(bam, unclipped: bool) -> Counter:
    """(strand, position) → reads, from the text of `samtools view -F 0xF04` and the CIGAR arithmetic of the SAM
    specification, independent of pysam."""
    text = subprocess.run(["samtools", "view", "-F", "0xF04", str(bam)], check=True, capture_output=True,
                          text=True).stdout
    ends = Counter()
    for line in text.splitlines():
        _, flag, _, pos, _, cigar = line.split("\t")[:6]
        ops = [(int(n), op) for n, op in re.findall(r"(\d+)([MIDNSHP=X])", cigar)]
        start = int(pos) - 1
        span = sum(n for n, op in ops if op in "MDN=X")
        if int(flag) & 16:
            end = start + span - 1
            if unclipped:
                end += sum(n for n, op in reversed(ops[-2:]) if op in "SH") if ops[-1][1] in "SH" else 0
            ends["-", end % 4641652] += 1
        else:
            if unclipped:
                start -= sum(n for n, op in ops[:2] if op in "SH") if ops[0][1] in "SH" else 0
            ends["+", start % 4641652] += 1
    return ends


@pytest.mark.skipif(shutil.which("samtools") is None, reason="samtools not installed")
@pytest.mark.parametrize("unclipped", [False, True])
def test_five_prime_counts_equal_samtools(unclipped):
    bam = shared_file("bam/ecoli_mg1655_ont_ultralong.NC_000913.3.bam")
    genome = read_genome(shared_file("ecoli/NC_000913.3.fa.gz"), "circular")
    with open_alignments(bam, genome) as alignments:
        arrays, _ = count_signal(alignments, genome, ["NC_000913.3"], ReadOptions(unclipped=unclipped),
                                 progress=False)
    signal = arrays["NC_000913.3"]
    ours = Counter()
    for row, strand in enumerate("+-"):
        for position in signal[row].nonzero()[0]:
            ours[strand, int(position)] = int(signal[row, position])
    expected = samtools_five_prime(bam, unclipped)
    assert sum(expected.values()) == 329  # every primary mapped read (../shared/data/README.md)
    assert ours == expected
