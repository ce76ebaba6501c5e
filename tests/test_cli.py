"""The command line as a newcomer meets it: every subcommand's --help, and what it costs to ask for it."""

import re
import subprocess
import sys

import pytest

from pygenome.cli import build_parser, main

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_each_default_once_and_none_that_is_empty(command, capsys):
    with pytest.raises(SystemExit) as exit:
        build_parser().parse_args([command, "--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    assert "(default: None)" not in text and "(default: [])" not in text and "(default: False)" not in text
    for entry in re.split(r"\n  (?=-)", text):
        assert len(re.findall(r"\(default", entry)) <= 1, entry


def test_help_of_every_command_loads_no_torch():
    """--help is instant: building the parser imports no PyTorch (nor pandas or matplotlib)."""
    code = ("import sys; from pygenome.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_warnings_are_one_line_each_a_library_s_with_its_name(capsys, tmp_path):
    """While a command runs, a warning is one line on stderr (no source line), a library's named; restored after."""
    import warnings

    from pygenome.cli import _warning_line

    before = warnings.showwarning
    show = _warning_line("motifs")
    show(UserWarning("a motif\n  left out"), UserWarning, "/usr/lib/python3/site-packages/memelite/io.py", 12)
    show(UserWarning("room for 3 controls"), UserWarning, "/work/pygenome/steps/predict.py", 130)
    assert capsys.readouterr().err.splitlines() == ["pygenome motifs: warning (memelite): a motif left out",
                                                    "pygenome motifs: warning: room for 3 controls"]
    assert main(["classify", "--fasta", str(tmp_path / "missing.fa"), "--sites", "x.bed", "--outdir", str(tmp_path),
                 "--prefix", "p"]) == 2
    assert warnings.showwarning is before
