"""The Nextflow pipeline, proved without a Nextflow runtime (none runs on these machines; the nf-test files in
``tests/`` run where one does; the strict parser's rules are checked in tests/test_strict_syntax.py).

- Every ``.nf`` file parses with a real Nextflow parser (reftrace), and the pipeline keeps its rules: one resource
  label, a container of the package's version, a ``stub:`` and a ``versions`` topic per process; modules read no
  ``params`` and take ``ext.args``/``ext.prefix``; every module declares the outputs its step declares in
  ``pygenome/io/layout.py``; every include resolves and every module is used.
- The samplesheet functions of ``subworkflows/local/utils_pygenome_pipeline`` run (Groovy, with Nextflow's ``Path``
  methods) on sheets with relative and absolute paths, on the local file system and on another one (a zip file's, as
  an ``s3://`` sheet would be: paths stay on it), find ``.bai``/``.csi``/``.crai`` indexes, and name row, column and
  file for what is missing.
- Replay: each process's ``script:`` block is rendered by Groovy (as Nextflow renders it) with the values its inputs
  take, with the ``ext.args`` that ``conf/modules.config`` computes, and run by bash as ``process.shell`` says, in a
  work directory of its own with inputs staged under per-role folders, in the order of the DAG. Its ``pygenome``
  command (recorded as it runs) must parse with the real CLI to the options of the command ``pygenome run`` plans for
  the same task; every output it declares must be written; each ``eval`` version command must print a version. Two
  runs: one model per genome on the bundled sheet (relative paths; outputs compared with ``pygenome run``'s), and a
  joint model on a sheet in a zip file with same-name treated and control BAMs and ``.bai``/``.csi`` indexes.
- GPU tasks: a task given an accelerator where CUDA sees none fails with pygenome's message (never a CPU run); a
  retried TRAIN resumes from its checkpoint folder.
- ``nextflow_schema.json`` is a valid JSON Schema whose defaults are those of ``nextflow.config``, and the test
  profile's parameters validate against it.
"""

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import urllib.parse
import zipfile
from pathlib import Path

import jsonschema
import pytest

from pygenome import __version__
from pygenome.cli import build_parser
from pygenome.io import layout
from pygenome.io.genome import read_genome
from pygenome.io.samplesheet import Sample, read_samplesheet
from pygenome.model.settings import setting_pairs
from pygenome.pipeline.plan import MOTIFS_PREFIX, plan, read_params
from pygenome.pipeline.run import run

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "modules" / "local").glob("*/main.nf"))
UTILS = ROOT / "subworkflows" / "local" / "utils_pygenome_pipeline" / "main.nf"
WORKFLOW = ROOT / "workflows" / "pygenome.nf"
NEXTFLOW_FILES = [ROOT / "main.nf", WORKFLOW, UTILS, *MODULES]
GPU_PROCESSES = {"TRAIN", "PREDICT"}
TEST_SETTINGS = re.search(r"train_settings\s*=\s*'([^']*)'", (ROOT / "conf" / "test.config").read_text()).group(1)
SHELL = json.loads(re.search(r"^process\.shell\s*=\s*(\[.*\])", (ROOT / "nextflow.config").read_text(), re.M)
                   .group(1).replace("'", '"'))


def process_text(module: Path) -> dict:
    """The blocks of the one process of a module file: name, input, output, script, stub (text)."""
    text = module.read_text()
    name = re.search(r"^process\s+(\w+)\s*\{", text, re.M).group(1)
    blocks = dict(re.findall(r"^    (input|output|script|stub):\n(.*?)(?=^    \w+:\n|^\}\n)", text, re.M | re.S))
    return {"name": name, "text": text, **blocks}


PROCESSES = {process_text(module)["name"]: process_text(module) for module in MODULES}


def declared_outputs(process: str) -> list[dict]:
    """The file outputs of a process: emit name, pattern (GString source) and whether optional."""
    outputs = []
    for line in PROCESSES[process]["output"].splitlines():
        pattern = re.search(r'path\(\s*"([^"]+)"\s*\)', line)
        if pattern:
            outputs.append({"emit": re.search(r"emit:\s*(\w+)", line).group(1), "pattern": pattern.group(1),
                            "optional": "optional: true" in line})
    return outputs


def version_commands(process: str) -> list[str]:
    """The ``eval`` outputs of a process (its tools' versions): each shell command as Groovy source (a string)."""
    return re.findall(r"""eval\(('[^']+'|"[^"]+")\)""", PROCESSES[process]["output"])


# Parsing and rules ------------------------------------------------------------------------------------------------

def parse(path: Path):
    reftrace = pytest.importorskip("reftrace")
    return reftrace.Module.from_file(str(path))


@pytest.mark.parametrize("path", NEXTFLOW_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_nextflow_file_parses(path):
    module = parse(path)
    assert not hasattr(module, "error"), f"{path}: {module.error}"


def test_the_parser_finds_a_syntax_error(tmp_path):
    broken = tmp_path / "main.nf"
    broken.write_text(PROCESSES["LABEL"]["text"].replace("    output:", "    output: {{"))
    assert hasattr(parse(broken), "error")


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.parent.name)
def test_every_process_has_one_label_a_versioned_container_a_stub_and_versions(module):
    (process,) = parse(module).processes
    labels = [label.value for label in process.labels]
    assert len(labels) == 1 and len(process.containers) == 1 and len(process.tags) == 1
    assert (labels[0] == "process_gpu") == (process.name in GPU_PROCESSES)
    assert re.search(rf"withLabel:\s*'{labels[0]}'", (ROOT / "conf" / "base.config").read_text())
    blocks = PROCESSES[process.name]
    images = re.findall(r"'pygenome/(pygenome(?:-cuda)?):([^']+)'", blocks["text"])
    assert images and {tag for _, tag in images} == {__version__}  # the image of this package's version
    assert {image for image, _ in images} == ({"pygenome", "pygenome-cuda"} if process.name in GPU_PROCESSES
                                              else {"pygenome"})
    assert blocks["stub"].strip()
    assert version_commands(process.name) and "topic: versions" in blocks["output"]


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.parent.name)
def test_modules_read_no_params_and_take_ext_args_and_prefix(module):
    blocks = PROCESSES[process_text(module)["name"]]
    assert "params." not in blocks["text"]  # the workflow passes values in; conf/modules.config sets ext.args
    assert "task.ext.args" in blocks["script"]
    for block in ("script", "stub"):
        assert re.search(r"^    prefix = task\.ext\.prefix \?: ", blocks[block], re.M), block


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.parent.name)
def test_every_module_declares_the_outputs_its_step_declares(module):
    process = process_text(module)["name"]
    step = layout.PROCESSES[process]
    declared = declared_outputs(process)
    if step in layout.FOLDER_STEPS:  # the folder is the one output; the step names the files in it
        assert [entry["pattern"] for entry in declared] == ["${prefix}"]
        stubbed = re.findall(r"\$\{prefix\}/(\S+)", PROCESSES[process]["stub"])
        assert stubbed and set(stubbed) <= {entry.pattern for entry in layout.STEPS[step]}
        return
    outputs = {entry.name: entry for entry in layout.STEPS[step]}
    glob = [entry for entry in declared if entry["pattern"] == "${prefix}.*"]  # everything the step wrote
    for entry in declared:
        if entry in glob:
            continue
        assert entry["emit"] in outputs, f"{process} emits {entry['emit']}, which {step} does not declare"
        assert entry["pattern"] == outputs[entry["emit"]].pattern.replace("{prefix}", "${prefix}"), entry
        assert not entry["optional"] or not outputs[entry["emit"]].required, f"{entry['emit']} is always written"
    missing = {name for name, entry in outputs.items() if entry.required} - {entry["emit"] for entry in declared}
    assert not missing or glob, f"{process} does not declare {missing}"


def test_includes_resolve_and_every_module_is_used():
    included = {}
    for path in (ROOT / "main.nf", WORKFLOW):
        for include in parse(path).includes:
            if include.from_module.startswith("plugin/"):
                continue
            target = (path.parent / include.from_module).resolve()
            target = target / "main.nf" if target.is_dir() else target.with_suffix(".nf")
            assert target.is_file(), f"{path.name} includes {include.from_module}, which does not exist"
            included.update({item.name: target for item in include.items})
    assert sorted({path for path in included.values() if "modules" in path.parts}) == MODULES
    steps = WORKFLOW.read_text().split("main:", 1)[1]
    for name, path in included.items():
        if "modules" in path.parts:
            assert re.search(rf"\b{name}\(", steps), f"{name} is included but never called"
    assert {"PYGENOME", "PIPELINE_INITIALISATION", "PIPELINE_COMPLETION"} <= set(included)


def test_nfcore_conventions():
    config = (ROOT / "nextflow.config").read_text()
    assert SHELL == ["/bin/bash", "-e", "-u", "-o", "pipefail"]  # no -C: Nextflow < 25.04.3 then loses traces
    assert "nextflowVersion = '!>=25.04.0'" in config  # topics out of preview; resourceLimits (24.04)
    assert re.search(r"errorStrategy\s*=\s*\{ task\.exitStatus in \(\(130\.\.145\) \+ 104 \+ 175\) \? 'retry' : "
                     r"'finish' \}", (ROOT / "conf" / "base.config").read_text())
    modules_config = (ROOT / "conf" / "modules.config").read_text()
    assert modules_config.count("mode: params.publish_dir_mode") == modules_config.count("publishDir =")
    assert "[id: 'survey']" in WORKFLOW.read_text() and MOTIFS_PREFIX == "survey"  # one prefix for both runners
    for name in ("CITATIONS.md", "CHANGELOG.md", "tests/nextflow.config"):
        assert (ROOT / name).is_file(), name
    assert 'configFile "tests/nextflow.config"' in (ROOT / "nf-test.config").read_text()


def test_nf_test_files_for_the_pipeline_and_every_module_with_stubs():
    pipeline = (ROOT / "tests" / "main.nf.test").read_text()
    assert 'script "../main.nf"' in pipeline and 'options "-stub"' in pipeline
    for module in MODULES:
        name = process_text(module)["name"]
        test = (ROOT / "tests" / "modules" / f"{module.parent.name}.nf.test").read_text()
        assert f'script "../../modules/local/{module.parent.name}/main.nf"' in test and f'process "{name}"' in test
        assert 'options "-stub"' in test, f"{name}: no stub test"


def test_bin_pygenome_runs_the_checkouts_package(tmp_path):
    # outside the checkout, on a PATH without an installed pygenome command: the clone's own code
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    result = subprocess.run([str(ROOT / "bin" / "pygenome"), "--version"], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"pygenome {__version__}", result.stderr


# Groovy -----------------------------------------------------------------------------------------------------------

def render(requests: list[dict]) -> list:
    """Evaluate Groovy requests (code, binding, paths) through tests/nextflow/render.groovy."""
    groovy = shutil.which("groovy")
    if groovy is None:
        pytest.skip("groovy is not installed (apt-get install groovy)")
    env = dict(os.environ)
    java = shutil.which("java")
    if java and not Path(env.get("JAVA_HOME", "/nonexistent"), "bin", "java").exists():
        env["JAVA_HOME"] = str(Path(java).resolve().parents[1])
    result = subprocess.run([groovy, str(ROOT / "tests" / "nextflow" / "render.groovy")], input=json.dumps(requests),
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def functions(path: Path, *names: str) -> str:
    """The source of top-level ``def`` functions of a Nextflow file (each ends at the first ``}`` of column 0)."""
    text = path.read_text()
    return "\n".join(re.search(rf"^def {name}\(.*?^\}}\n", text, re.M | re.S).group(0) for name in names)


SAMPLESHEET_FUNCTIONS = functions(UTILS, "resolvedRow", "resolvedFile", "indexOf")


def schema_rows(sheet: Path) -> list[list]:
    """The rows of a samplesheet as nf-schema's samplesheetToList gives them: [meta, fasta, bam, control_bam, sites]
    with the schema's meta fields in meta, the other values as text and [] where empty."""
    with open(sheet, newline="") as handle:
        records = list(csv.DictReader(handle))
    return [[{key: record[key] for key in ("id", "topology") if record.get(key)},
             *(record.get(column) or [] for column in ("fasta", "bam", "control_bam", "sites"))] for record in records]


def resolve_rows(sheet_uri: str, rows: list[list]) -> list:
    """``resolvedRow`` of the pipeline on each row of a sheet (a path, or a jar: URI), files as URI strings; or the
    error it raised, as {"error": message}."""
    code = SAMPLESHEET_FUNCTIONS + textwrap.dedent("""
        def sheet = file(sheet_uri)
        def uri = { value -> value instanceof java.nio.file.Path ? value.toUriString() : value }
        groovy.json.JsonOutput.toJson(rows.withIndex().collect { row, index ->
            resolvedRow(sheet, row, index).collect { value -> value instanceof Map ? value : uri(value) }
        })
        """)
    (result,) = render([{"code": code, "binding": {"sheet_uri": sheet_uri, "rows": rows}}])
    return result if isinstance(result, dict) else json.loads(result)


def zipped(folder: Path, archive: Path) -> Path:
    """``folder`` as a zip file, whose file system stands for an object store's."""
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*")):
            handle.write(path, path.relative_to(folder))
    return archive


def jar_uri(archive: Path, inner: str) -> str:
    return f"jar:{archive.as_uri()}!/{inner}"


def test_samplesheet_paths_resolve_from_the_sheets_folder_locally_and_on_another_file_system(tmp_path):
    data = ROOT / "assets" / "test"
    (tmp_path / "run" / "sheets").mkdir(parents=True)
    (tmp_path / "run" / "fasta").mkdir()
    shutil.copy(data / "alpha.fa", tmp_path / "run" / "fasta" / "alpha.fa")
    for name in ("beta.bed", "alpha.tex_plus.bam"):
        shutil.copy(data / name, tmp_path / "run" / "sheets" / name)
    shutil.copy(data / "alpha.tex_plus.bam.bai", tmp_path / "run" / "sheets" / "alpha.tex_plus.bai")  # x.bai
    sheet = tmp_path / "run" / "sheets" / "samplesheet.csv"
    sheet.write_text("id,fasta,bam,control_bam,sites,topology\n"
                     f"alpha,../fasta/alpha.fa,alpha.tex_plus.bam,,,circular\nbeta,{data / 'beta.fa'},,,beta.bed,\n")
    local = resolve_rows(str(sheet), schema_rows(sheet))
    assert local[0] == [{"id": "alpha", "topology": "circular", "index": 0},
                        str(tmp_path / "run" / "sheets" / "../fasta/alpha.fa"),
                        str(sheet.parent / "alpha.tex_plus.bam"), str(sheet.parent / "alpha.tex_plus.bai"), [], [], []]
    assert local[1][0] == {"id": "beta", "topology": "auto", "index": 1}
    assert local[1][1] == str(data / "beta.fa") and local[1][6] == str(sheet.parent / "beta.bed")

    # the same sheet on another file system: relative paths stay on it (as in an s3:// sheet), absolute ones local
    archive = zipped(tmp_path / "run", tmp_path / "bucket.zip")
    remote = resolve_rows(jar_uri(archive, "sheets/samplesheet.csv"), schema_rows(sheet))
    assert remote[0][2] == jar_uri(archive, "sheets/alpha.tex_plus.bam")
    assert remote[0][3] == jar_uri(archive, "sheets/alpha.tex_plus.bai")
    assert remote[0][1].startswith(f"jar:{archive.as_uri()}!/") and remote[0][1].endswith("/fasta/alpha.fa")
    assert remote[1][1] == str(data / "beta.fa") and remote[1][6] == jar_uri(archive, "sheets/beta.bed")

    # what is missing is named: the sheet, the row, the column and the file
    rows = schema_rows(sheet)
    rows[1][4] = "absent.bed"
    failed = resolve_rows(str(sheet), rows)
    assert failed["error"] == (f"{sheet}: row 3, column 'sites': absent.bed not found (relative paths are read from "
                               f"{sheet.parent})")
    (sheet.parent / "alpha.tex_plus.bai").unlink()
    failed = resolve_rows(str(sheet), schema_rows(sheet))
    assert "row 2, column 'bam'" in failed["error"] and "has no index (looked for alpha.tex_plus.bam.bai, " \
        "alpha.tex_plus.bai, alpha.tex_plus.bam.csi, alpha.tex_plus.csi beside it)" in failed["error"]


@pytest.mark.parametrize("index", ["x.bam.bai", "x.bai", "x.bam.csi", "x.csi", "x.cram.crai", "x.crai"])
def test_alignment_indexes_are_found_where_pygenome_label_finds_them(tmp_path, index):
    alignments = "x.cram" if ".crai" in index else "x.bam"
    (tmp_path / alignments).write_bytes(b"")
    (tmp_path / index).write_bytes(b"")
    (tmp_path / "g.fa").write_text(">c\nACGT\n")
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(f"id,fasta,bam\ng,g.fa,{alignments}\n")
    (row,) = resolve_rows(str(sheet), schema_rows(sheet))
    assert row[3] == str(tmp_path / index)


# Replay -----------------------------------------------------------------------------------------------------------

def ext_args(process: str, params: dict, meta: dict) -> str:
    """What conf/modules.config's ``ext.args`` closure of ``process`` gives (Groovy), or None without one."""
    config = (ROOT / "conf" / "modules.config").read_text()
    block = re.search(rf"withName: '{process}' \{{(.*?)\n    \}}", config, re.S).group(1)
    closure = re.search(r"ext\.args\s*=\s*(\{.*\})\s*$", block, re.M)
    if closure is None:
        return None
    (value,) = render([{"code": f"({closure.group(1)}).call()", "binding": {"params": params, "meta": meta}}])
    return value


RECORDER = """#!/usr/bin/env bash
# pygenome, recording each command's arguments (NUL-separated) for tests/test_nextflow.py
if [ "$*" != "--version" ]; then printf '%s\\0' "$@" > "$PYGENOME_REPLAY_LOG/$(date +%s%N).argv"; fi
exec {real} "$@"
"""


def stage(source: str, target: Path) -> None:
    """Stage an input as Nextflow does: a link to a local file, a copy of one on another file system."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.startswith("jar:file:"):
        archive, inner = source.removeprefix("jar:").split("!/", 1)
        with zipfile.ZipFile(urllib.parse.urlparse(archive).path) as handle:
            target.write_bytes(handle.read(inner))
    else:
        target.symlink_to(source)


def uri_name(source: str) -> str:
    return source.rsplit("/", 1)[-1]


class Replay:
    """Process calls run one after the other, each in its own work directory, as Nextflow would run them."""

    def __init__(self, folder: Path, params: dict):
        self.folder, self.params, self.records, self.produced = folder, params, [], {}
        recorder = folder / "recorder"
        recorder.mkdir(parents=True)
        (recorder / "pygenome").write_text(RECORDER.format(real=Path(sys.executable).parent / "pygenome"))
        (recorder / "pygenome").chmod(0o755)
        self.env = {**os.environ, "PATH": f"{recorder}:{Path(sys.executable).parent}:{os.environ['PATH']}:"
                                          f"{ROOT / 'bin'}"}

    def script(self, process: str, binding: dict, paths: list[str], task: dict | None = None) -> tuple:
        """The rendered script of ``process``, its output patterns rendered, and its ``task`` (with ``ext.args``)."""
        task = {"cpus": 2, "accelerator": None, "attempt": 1, "process": f"PYGENOME:{process}",
                "ext": {"args": ext_args(process, self.params, binding.get("meta", {}))}, **(task or {})}
        binding = {**binding, "task": task}
        code = PROCESSES[process]["script"]
        script, *names = render([{"code": code, "binding": binding, "paths": paths}] + [
            {"code": code + f'\n"{entry["pattern"]}"', "binding": binding, "paths": paths}
            for entry in declared_outputs(process)])
        return (textwrap.dedent(script), dict(zip((entry["pattern"] for entry in declared_outputs(process)), names)),
                task)

    def call(self, process: str, key: str, binding: dict, staged: dict, task: dict | None = None, check=True):
        """Render and run one process call; ``staged``: the work-directory name → a source (path or URI, or the
        process whose output of that file name it is)."""
        folder = self.folder / f"{len(self.records):02d}.{process}"
        (folder / ".argv").mkdir(parents=True)
        for name, source in staged.items():
            stage(str(self.produced[source, Path(name).name]) if source in PROCESSES else source, folder / name)
        paths = [name for name, value in binding.items() if name != "meta" and (
            isinstance(value, str) and value in staged or isinstance(value, list) and value and all(
                item in staged for item in value))]
        script, outputs, task = self.script(process, binding, paths, task)
        (folder / ".command.sh").write_text(script)
        result = subprocess.run([*SHELL, ".command.sh"], cwd=folder, capture_output=True, text=True,
                                env={**self.env, "PYGENOME_REPLAY_LOG": str(folder / ".argv")})
        record = {"process": process, "key": key, "binding": binding, "staged": staged, "script": script,
                  "task": task, "folder": folder, "result": result,
                  "argv": [path.read_bytes().decode().split("\0")[:-1]
                           for path in sorted((folder / ".argv").iterdir())]}
        if not check:
            return record
        assert result.returncode == 0, f"{process} ({key}) failed:\n{script}\n{result.stderr[-3000:]}"
        for entry in declared_outputs(process):
            found = list(folder.glob(outputs[entry["pattern"]]))
            assert found or entry["optional"], f"{process} ({key}) declares {entry['pattern']} but did not write it"
            self.produced.update({(process, path.name): path for path in found})
        commands = render([{"code": code, "binding": {"task": task}} for code in version_commands(process)])
        for command in commands:
            version = subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True, env=self.env)
            assert version.returncode == 0 and re.fullmatch(r"\d+\.\d+\S*\n", version.stdout), (command, version)
        self.records.append(record)
        return record


def replay_pipeline(folder: Path, sheet_uri: str, rows: list, scope: str, params: dict) -> Replay:
    """The pipeline's process calls for a samplesheet (its rows as the pipeline resolves them), as the workflow in
    workflows/pygenome.nf wires them, run in DAG order."""
    replay = Replay(folder, params)
    samples = [dict(meta, model="joint" if scope == "joint" else meta["id"]) for meta, *_ in rows]
    files = {meta["id"]: dict(zip(("fasta", "bam", "bam_index", "control_bam", "control_index", "sites"), rest))
             for meta, *rest in rows}
    roles = {"fasta": "genome", "bam": "treated", "bam_index": "treated", "control_bam": "control",
             "control_index": "control", "sites": "sites"}  # LABEL's stageAs folders
    for meta in samples:
        binding = {"meta": meta}
        staged = {}
        for role, source in files[meta["id"]].items():
            binding[role] = f"{roles[role]}/{uri_name(source)}" if source else []
            if source:
                staged[binding[role]] = source
        replay.call("LABEL", f"label/{meta['id']}", binding, staged)
    contigs = {}
    for meta in samples:
        qc = json.loads(replay.produced["LABEL", f"{meta['id']}.qc.json"].read_text())
        contigs[meta["id"]] = [(contig["name"], contig["key"]) for contig in qc["genome"]["contigs"]]
    models = list(dict.fromkeys(meta["model"] for meta in samples))
    checkpoints = folder / "checkpoints"
    for model in models:
        members = [meta for meta in samples if meta["model"] == model]
        fastas = [f"genome{n}/{uri_name(files[m['id']]['fasta'])}" for n, m in enumerate(members, start=1)]
        labels = [f"labels/{m['id']}.labels.track.npz" for m in members]
        replay.call("TRAIN", f"train/{model}", {
            "meta": {"id": model, "index": members[0]["index"]}, "genome_ids": [m["id"] for m in members],
            "fastas": fastas, "labels": labels, "checkpoints": str(checkpoints)},
            {**{f: files[m["id"]]["fasta"] for f, m in zip(fastas, members)}, **dict.fromkeys(labels, "LABEL")})
    for meta in samples:
        for index, (name, key) in enumerate(contigs[meta["id"]]):
            fasta = f"genome/{uri_name(files[meta['id']]['fasta'])}"
            replay.call("PREDICT", f"predict/{meta['id']}/{name}", {
                "meta": {**meta, "contig": name, "contig_key": key, "contig_index": index},
                "model": f"model/{meta['model']}", "fasta": fasta, "labels": f"labels/{meta['id']}.labels.track.npz"},
                {f"model/{meta['model']}": "TRAIN", fasta: files[meta["id"]]["fasta"],
                 f"labels/{meta['id']}.labels.track.npz": "LABEL"})
    for meta in samples:
        fasta = f"genome/{uri_name(files[meta['id']]['fasta'])}"
        replay.call("BASELINE", f"baseline/{meta['id']}", {"meta": meta, "fasta": fasta},
                    {fasta: files[meta["id"]]["fasta"]})
    for model in models:
        members = [meta for meta in samples if meta["model"] == model]
        predictions = [f"predictions/{m['id']}.{key}.scores.track.npz" for m in members for _, key in contigs[m["id"]]]
        labels = [f"labels/{m['id']}.labels.track.npz" for m in members]
        scans = [f"baselines/{m['id']}.scores.track.npz" for m in members]
        replay.call("EVALUATE", f"evaluate/{model}", {
            "meta": {"id": model, "index": members[0]["index"]}, "model": f"model/{model}", "predictions": predictions,
            "labels": labels, "baselines": scans},
            {f"model/{model}": "TRAIN", **dict.fromkeys(predictions, "PREDICT"), **dict.fromkeys(labels, "LABEL"),
             **dict.fromkeys(scans, "BASELINE")})
    attention = [f"attention/{m['id']}.{key}.attention.npz" for m in samples for _, key in contigs[m["id"]]]
    fastas = [f"genome{n}/{uri_name(files[m['id']]['fasta'])}" for n, m in enumerate(samples, start=1)]
    decoy = f"decoy/{Path(params['decoy']).name}"
    replay.call("MOTIFS", "motifs", {
        "meta": {"id": "survey"}, "genome_ids": [m["id"] for m in samples], "fastas": fastas, "attention": attention,
        "attention_counts": [len(contigs[m["id"]]) for m in samples], "databases": [], "decoy": decoy},
        {**{f: files[m["id"]]["fasta"] for f, m in zip(fastas, samples)}, **dict.fromkeys(attention, "PREDICT"),
         decoy: params["decoy"]})
    qcs = [f"label/{m['id']}.qc.json" for m in samples]
    motifs = [f"motifs/{name}" for process, name in replay.produced if process == "MOTIFS"]
    replay.call("REPORT", "report", {
        "meta": {"id": "report"}, "qcs": qcs, "models": [f"train/{m}" for m in models],
        "evaluations": [f"evaluate/{m}" for m in models], "motifs": sorted(set(motifs))},
        {**dict.fromkeys(qcs, "LABEL"), **{f"train/{m}": "TRAIN" for m in models},
         **{f"evaluate/{m}": "EVALUATE" for m in models}, **dict.fromkeys(motifs, "MOTIFS")})
    replay.samples, replay.contigs, replay.files, replay.checkpoints = samples, contigs, files, checkpoints
    return replay


def nextflow_params(**overrides) -> dict:
    return {"preset": "cpu", "train_settings": TEST_SETTINGS, "title": "pygenome test profile", "description": None,
            "baseline": True, "decoy": str(ROOT / "assets" / "motifs" / "jaspar2024_core_eukaryotic_decoy.transfac.gz"),
            **overrides}


def run_params(scope: str):
    return read_params(training=dict(setting_pairs(TEST_SETTINGS.split())), title="pygenome test profile", threads=2,
                       model_scope=scope)


@pytest.fixture(scope="module")
def per_genome(tmp_path_factory):
    """The bundled sheet (relative paths, x.bam.bai indexes), one model per genome: replayed, and run by
    ``pygenome run`` for its plan and outputs."""
    folder = tmp_path_factory.mktemp("per_genome")
    for path in (ROOT / "assets" / "test").iterdir():
        if path.suffix != ".py":
            shutil.copy(path, folder / path.name)
    sheet = folder / "samplesheet.csv"
    params = run_params("per_genome")
    run(sheet, folder / "results", params, progress=False, say=lambda line: None)
    samples = read_samplesheet(sheet)
    replay = replay_pipeline(folder / "work", str(sheet), resolve_rows(str(sheet), schema_rows(sheet)),
                             "per_genome", nextflow_params())
    return {"replay": replay, "results": folder / "results", "samples": samples,
            "tasks": planned_tasks(samples, folder / "results", params)}


@pytest.fixture(scope="module")
def joint(tmp_path_factory):
    """A joint model, from a sheet on another file system (a zip file's, as on S3) whose treated and control BAMs
    share a file name (STAR's) in two folders, indexed as x.bai and x.csi; one FASTA by absolute local path."""
    import pysam

    folder = tmp_path_factory.mktemp("joint")
    data, bucket = ROOT / "assets" / "test", folder / "bucket"
    for role, source in (("treated", "alpha.tex_plus.bam"), ("control", "alpha.tex_minus.bam")):
        (bucket / "alpha" / role).mkdir(parents=True)
        shutil.copy(data / source, bucket / "alpha" / role / "Aligned.sortedByCoord.out.bam")
    shutil.copy(data / "alpha.tex_plus.bam.bai", bucket / "alpha" / "treated" / "Aligned.sortedByCoord.out.bai")
    pysam.index("-c", str(bucket / "alpha" / "control" / "Aligned.sortedByCoord.out.bam"))  # .bam.csi
    (bucket / "genomes").mkdir()
    shutil.copy(data / "alpha.fa", bucket / "genomes" / "alpha.fa")
    shutil.copy(data / "beta.bed", bucket / "beta.bed")
    sheet_text = ("id,fasta,bam,control_bam,sites,topology\n"
                  "alpha,genomes/alpha.fa,alpha/treated/Aligned.sortedByCoord.out.bam,"
                  "alpha/control/Aligned.sortedByCoord.out.bam,,circular\n"
                  f"beta,{data / 'beta.fa'},,,beta.bed,\n")
    (bucket / "samplesheet.csv").write_text(sheet_text)
    archive = zipped(bucket, folder / "bucket.zip")
    rows = resolve_rows(jar_uri(archive, "samplesheet.csv"), schema_rows(bucket / "samplesheet.csv"))
    assert rows[0][2] == jar_uri(archive, "alpha/treated/Aligned.sortedByCoord.out.bam")  # stays on its system
    replay = replay_pipeline(folder / "work", jar_uri(archive, "samplesheet.csv"), rows, "joint", nextflow_params())
    samples = read_samplesheet(bucket / "samplesheet.csv")  # the same rows, read by pygenome run from the folder
    return {"replay": replay, "samples": samples, "rows": rows,
            "tasks": planned_tasks(samples, folder / "results", run_params("joint"))}


def planned_tasks(samples: list[Sample], outdir: Path, params) -> dict:
    contigs = {s.id: [c.name for c in read_genome(s.fasta, s.topology).contigs] for s in samples}
    return {task.key: task for task in plan(samples, contigs, outdir, params)}


def normalised(argv: list[str]) -> dict:
    """The options the real CLI parses from ``argv``, with files as their names (work directories and the run's
    folders differ) and the runtime-only options (threads, quiet, device, output folders) left out."""
    options = vars(build_parser().parse_args(argv))

    def names(value):
        if isinstance(value, (list, tuple)):
            return [names(item) for item in value]
        if isinstance(value, Path):
            value = str(value)
        if isinstance(value, str) and ("/" in value or "." in Path(value).name):
            return Path(value).name
        return value

    options = {key: names(value) for key, value in options.items()
               if key not in ("func", "threads", "quiet", "device", "outdir", "out")}
    if "set" in options:
        options["set"] = dict(setting_pairs(options["set"]))
    return options


@pytest.mark.parametrize("scope", ["per_genome", "joint"])
def test_every_process_calls_the_real_cli_as_pygenome_run_plans(scope, request):
    replayed = request.getfixturevalue(scope)
    records, tasks = replayed["replay"].records, replayed["tasks"]
    assert [record["key"] for record in records] == list(tasks)  # a process call for every task, in the plan's order
    for record in records:
        (argv,) = record["argv"]  # one pygenome command per script
        assert normalised(argv) == normalised(tasks[record["key"]].argv), f"{record['key']} differs from the plan"
        device = argv[argv.index("--device") + 1] if "--device" in argv else None
        assert device == ("cpu" if record["process"] in GPU_PROCESSES else None)  # no accelerator: the CPU, said


def test_per_genome_outputs_are_pygenome_runs(per_genome):
    results = per_genome["results"]
    folders = {record["key"]: record["folder"] for record in per_genome["replay"].records}
    for key in folders:
        if key.startswith(("label/", "baseline/")):  # bit-identical from the same inputs
            genome = key.split("/")[1]
            for planned_file in (results / key.split("/")[0]).glob(f"{genome}.*"):
                assert (folders[key] / planned_file.name).read_bytes() == planned_file.read_bytes(), planned_file
    for s in per_genome["samples"]:
        mine = json.loads((folders[f"evaluate/{s.id}"] / s.id / "evaluation.json").read_text())
        theirs = json.loads((results / "evaluate" / s.id / "evaluation.json").read_text())
        assert mine["overall"]["roc_auc"] == pytest.approx(theirs["overall"]["roc_auc"], abs=1e-3)
        assert mine["baseline"]["overall"] == theirs["baseline"]["overall"]
    assert (folders["report"] / "report.html").stat().st_size > 100_000


def test_the_label_step_gives_each_contig_the_key_of_the_plan(per_genome):
    replay = per_genome["replay"]
    for sample in per_genome["samples"]:
        names = [contig.name for contig in read_genome(sample.fasta, sample.topology).contigs]
        assert replay.contigs[sample.id] == list(zip(names, layout.file_keys(names)))


def test_joint_model_from_a_remote_sheet_with_same_name_bams(joint):
    records = {record["key"]: record for record in joint["replay"].records}
    label = records["label/alpha"]
    assert (label["folder"] / "treated" / "Aligned.sortedByCoord.out.bam").is_file()
    assert (label["folder"] / "control" / "Aligned.sortedByCoord.out.bam.csi").is_file()
    argv = label["argv"][0]
    assert argv[argv.index("--bam") + 1] == "treated/Aligned.sortedByCoord.out.bam"
    assert argv[argv.index("--control-bam") + 1] == "control/Aligned.sortedByCoord.out.bam"
    qc = json.loads((label["folder"] / "alpha.qc.json").read_text())
    assert 0 < qc["control_reads"]["used"] != qc["reads"]["used"] > 0  # both libraries, not one of them twice
    config = json.loads((records["train/joint"]["folder"] / "joint" / "config.json").read_text())
    assert [entry["id"] for entry in config["data"]] == ["alpha", "beta"]
    evaluation = json.loads((records["evaluate/joint"]["folder"] / "joint" / "evaluation.json").read_text())
    assert set(evaluation["genomes"]) == {"alpha", "beta"}
    assert [key for key in records if key.startswith("predict/")] == [
        "predict/alpha/chrom", "predict/beta/chrom", "predict/beta/plasmid"]


def test_a_gpu_task_where_cuda_sees_no_gpu_fails_clearly(per_genome, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA sees a GPU here: the failure is for machines where it does not")
    replay = per_genome["replay"]
    gpu = Replay(tmp_path, replay.params)
    gpu.produced = replay.produced
    for process, gpus in (("PREDICT", 1), ("TRAIN", 2)):
        record = next(record for record in replay.records if record["process"] == process)
        binding = {**record["binding"], "checkpoints": ""} if process == "TRAIN" else record["binding"]
        failed = gpu.call(process, record["key"], binding, record["staged"], task={"accelerator": {"request": gpus}},
                          check=False)
        assert failed["result"].returncode != 0, process
        assert "--device cuda: CUDA sees no GPU here" in failed["result"].stderr, failed["result"].stderr[-2000:]
        if process == "PREDICT":
            assert not list(failed["folder"].glob("*.npz"))  # nothing half-done, nothing done on the CPU instead
        else:
            assert f"torchrun --standalone --nproc_per_node={gpus} -m pygenome train" in failed["script"]


def test_a_retried_train_resumes_from_its_checkpoints(per_genome, tmp_path):
    replay = per_genome["replay"]
    first = next(record for record in replay.records if record["key"] == "train/alpha")
    model = first["folder"] / "alpha"
    assert (replay.checkpoints / "alpha" / "last.pt").is_file()
    assert not (model / "checkpoints").exists()  # kept outside the published model folder
    retry = Replay(tmp_path, replay.params)
    retry.produced = replay.produced
    second = retry.call("TRAIN", "train/alpha", first["binding"], first["staged"], task={"attempt": 2})
    assert "--resume" in second["argv"][0]  # the second attempt goes on from the first one's last checkpoint
    assert (second["folder"] / "alpha" / "model.safetensors").read_bytes() == (model / "model.safetensors").read_bytes()
    # the folder is mounted into the task's container at its own path
    directive = re.search(r'^    containerOptions (".*")$', PROCESSES["TRAIN"]["text"], re.M).group(1)
    mounts = render([{"code": directive, "binding": {"checkpoints": folder, "workflow": {"containerEngine": engine}}}
                     for folder, engine in ((str(replay.checkpoints), "docker"), (str(replay.checkpoints), "apptainer"),
                                            ("", "docker"))])
    assert mounts == [f"--volume {replay.checkpoints}:{replay.checkpoints}", f"--bind {replay.checkpoints}", ""]
    # and a first attempt starts afresh, whatever an earlier run left in the folder
    again = retry.call("TRAIN", "train/alpha", first["binding"], first["staged"])
    assert "--resume" not in again["argv"][0]


# Schemas ----------------------------------------------------------------------------------------------------------

def config_params(text: str) -> dict:
    """The ``name = value`` lines of the first ``params { }`` block of a config, values as Python (null → None)."""
    block = re.search(r"^params\s*\{(.*?)^\}", text, re.M | re.S).group(1)
    values = {}
    for name, value in re.findall(r"^\s*(\w+)\s*=\s*(.+?)\s*(?://.*)?$", block, re.M):
        value = value.replace("${projectDir}", str(ROOT))
        values[name] = None if value == "null" else json.loads(value.replace("'", '"'))
    return values


def test_nextflow_schema_is_valid_and_its_defaults_are_the_configs():
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator.check_schema(json.loads((ROOT / "assets" / "schema_input.json").read_text()))
    properties = {name: spec for group in schema["$defs"].values() for name, spec in group["properties"].items()}
    defaults = config_params((ROOT / "nextflow.config").read_text())
    assert set(properties) == set(defaults)  # every parameter documented, none undocumented
    for name, spec in properties.items():
        if "default" in spec:
            assert spec["default"] == defaults[name], name
    assert "schema" not in properties["input"]  # the sheet is validated once, on its resolved rows


def test_the_test_profile_validates_and_its_samplesheet_reads():
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    params = config_params((ROOT / "nextflow.config").read_text()) | config_params(
        (ROOT / "conf" / "test.config").read_text())
    params = {name: value for name, value in params.items() if value is not None}
    jsonschema.Draft202012Validator(schema).validate(params)
    assert [s.id for s in read_samplesheet(params["input"])] == ["alpha", "beta"]
    with pytest.raises(jsonschema.ValidationError, match="'gpu' is not one of"):
        jsonschema.Draft202012Validator(schema).validate(params | {"preset": "gpu"})
    # under the strict parser command-line values are text: --max_gpus 2 --baseline false are taken, and read so
    jsonschema.Draft202012Validator(schema).validate(params | {"max_gpus": "2", "gpu_nodes": "3", "baseline": "false"})
    for wrong in ({"max_gpus": "two"}, {"max_gpus": 0}, {"baseline": "no"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(schema).validate(params | wrong)
    assert "params.baseline.toString().toBoolean()" in (ROOT / "main.nf").read_text()
    assert "params.max_gpus.toString().toInteger()" in (ROOT / "nextflow.config").read_text()


def test_the_multinode_launcher_rendezvous_from_slurm_variables():
    from pygenome.pipeline.slurm import first_host, rendezvous

    assert first_host("gpu[03-05,07],cpu1") == "gpu03" and first_host("node7") == "node7"
    assert first_host("a-1,b-2") == "a-1"
    options = rendezvous({"SLURM_JOB_ID": "123456", "SLURM_JOB_NODELIST": "gpu[12-13]", "SLURM_JOB_NUM_NODES": "2"})
    assert options == ["--nnodes=2", "--rdzv-backend=c10d", "--rdzv-id=123456", "--rdzv-endpoint=gpu12:29856"]
    launcher = re.search(r'ext\.launcher\s*=\s*\{ "(.*)" \}', (ROOT / "nextflow.config").read_text()).group(1)
    words = shlex.split(launcher.replace("${params.multinode_exec}", "").replace("${params.max_gpus}", "4"))
    assert words[:2] == ["srun", "--ntasks-per-node=1"]
    assert words[-4:] == ["pygenome.pipeline.slurm", "--nproc-per-node=4", "-m", "pygenome"]
