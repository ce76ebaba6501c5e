"""The demo on the bundled E. coli data: simulated dRNA-seq reads from the Thomason 2015 TSS, labelled with the
TEX- control, must give back the known TSS and none of the processed sites."""

import json
from pathlib import Path

from pygenome.cli import main

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "demo"


def test_demo_recovers_the_known_tss(tmp_path, capsys):
    assert main(["demo", "--outdir", str(tmp_path), "--data", str(ASSETS), "--quiet"]) == 0
    summary = json.loads((tmp_path / "demo_summary.json").read_text())
    assert summary == json.loads(capsys.readouterr().out)
    assert summary["known_tss_recovered"] > 0.9
    assert summary["called_sites_that_are_known_tss_within_10nt"] > 0.99
    assert summary["called_sites_at_processed_sites"] == 0
    for output in ("signal.track.npz", "labels.track.npz", "sites.bed", "qc.json"):
        assert (tmp_path / "label" / f"ecoli.{output}").is_file()


def test_demo_without_its_data_says_where_to_run(tmp_path, capsys):
    assert main(["demo", "--outdir", str(tmp_path), "--data", str(tmp_path / "nowhere")]) == 2
    assert "demo data not found" in capsys.readouterr().err
