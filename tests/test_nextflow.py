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
  the same task; every output it declares must be written; each ``eval`` version command must print a version. Each
  genome's model comes from the workflow's ``withModels`` and its contigs from its ``contigsOf`` (run in Groovy). Runs:
  one model per genome on the bundled sheet (relative paths; outputs compared with ``pygenome run``'s); a joint model
  on a sheet in a zip file with same-name treated and control BAMs and ``.bai``/``.csi`` indexes; and, with a few
  training steps, a genome without labels (a gzipped FASTA of clashing contig names) beside a labelled one (its model
  predicts both), alone with a given model folder (``--model``), and, marked slow, beside a labelled genome with a
  given model and under ``leave_one_out`` (the extra joint model).
- The Groovy twins: ``contigsOf`` reads a FASTA's contigs as ``read_genome`` does (plain, gzip, bgzip), ``fileKeys`` is
  ``layout.file_keys``, ``withModels`` is ``plan.models`` (every scope, with and without label-free rows, a given
  model), ``modelFolder`` finds a folder or a bundled model.
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
import unittest.mock
import urllib.parse
import zipfile
from pathlib import Path

import jsonschema
import pytest

from pygenome import __version__
from pygenome.cli import build_parser
from pygenome.errors import InputError
from pygenome.io import layout
from pygenome.io.genome import read_genome
from pygenome.io.model_store import model_folder
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
    """The rows of a samplesheet as nf-schema's samplesheetToList gives them: [meta, fasta, bam, control_bam, sites,
    annotation]
    with the schema's meta fields in meta, the other values as text and [] where empty."""
    with open(sheet, newline="") as handle:
        records = list(csv.DictReader(handle))
    return [[{key: record[key] for key in ("id", "topology") if record.get(key)},
             *(record.get(column) or [] for column in ("fasta", "bam", "control_bam", "sites", "annotation"))]
            for record in records]


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
                        str(sheet.parent / "alpha.tex_plus.bam"), str(sheet.parent / "alpha.tex_plus.bai"), [], [], [],
                        []]
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


def test_contigs_are_read_from_the_fasta_as_pygenome_reads_them_with_its_file_keys(tmp_path):
    """The pipeline's contigsOf (names from the FASTA's headers, keys by its fileKeys twin of layout.file_keys) gives
    what pygenome reads and plans: plain (CRLF, tabs, vertical tabs, comments), gzip, and bgzip over many blocks."""
    import gzip

    import pysam

    names = ["ctg_1", "ctg|1", "ctg_1_2", "Chr", "chr", "CHR_2", "sp\u00e9cial", "s\U0001f600x", "a.b-c", "x y"]
    lines = []
    for number, name in enumerate(names):
        header = {0: " [topology=circular]\r", 1: "\tdescribed", 9: "\x0bvertical"}.get(number, "")
        lines += [f">{name}{header}", "ACGT" * (number + 1) + ("\r" if number == 0 else "")]
    plain = tmp_path / "tricky.fa"
    plain.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gz = tmp_path / "tricky.fa.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    big = tmp_path / "big.fa"  # contigs beyond bgzip's first 64 KB blocks
    big.write_text("".join(f">c{number} x\n" + ("ACGTTGCA" * 10 + "\n") * 300 for number in range(6)))
    pysam.tabix_compress(str(big), str(tmp_path / "big.fa.bgz"))
    fastas = [plain, gz, big, tmp_path / "big.fa.bgz"]
    found = contigs_of([({"id": f"g{n}"}, str(path)) for n, path in enumerate(fastas)])
    for number, (path, rows) in enumerate(zip(fastas, found)):
        expected = [contig.name for contig in read_genome(path).contigs]
        assert [row[1] for row in rows] == expected, path
        assert [row[2] for row in rows] == layout.file_keys(expected), path
        assert [row[0] for row in rows] == [f"g{number}"] * len(rows) and [row[3] for row in rows] == list(
            range(len(rows)))
    assert [row[2] for row in found[0][:6]] == ["ctg_1", "ctg_1_2", "ctg_1_2_2", "Chr", "chr_2", "CHR_2_2"]


def test_file_keys_are_layouts():
    """fileKeys (workflows/pygenome.nf) against pygenome.io.layout.file_keys on names that clash in many ways."""
    lists = [["a"] * 5 + ["A", "a_2", "A_3", "a|2"], ["x/y", "x_y", "X?Y", "x_y_2", "x-y"],
             ["I", "i", "\u0130", "\u0131"], [f"c{n % 7}|{n % 3}" for n in range(60)], []]
    code = functions(WORKFLOW, "fileKeys", "numbered") + "\ngroovy.json.JsonOutput.toJson(fileKeys(names))"
    results = render([{"code": code, "binding": {"names": names}} for names in lists])
    assert [json.loads(result) for result in results] == [layout.file_keys(names) for names in lists]


def test_models_are_the_plans(tmp_path):
    """withModels (workflows/pygenome.nf) chooses each genome's model and each trained model's genomes, in order, as
    plan.models does: for sheets with and without label-free rows, every model_scope, and a given model."""
    from pygenome.pipeline.plan import Params, models

    def row(index, name, bam="", sites=""):
        return [{"id": name, "index": index}, f"{name}.fa", bam or [], [], [], [], sites or []]

    sheets = {"two labelled, one not": [row(0, "a", bam="a.bam"), row(1, "b", sites="b.bed"), row(2, "c")],
              "one labelled, two not": [row(0, "c"), row(1, "a", sites="a.bed"), row(2, "d")],
              "three labelled": [row(0, "a", bam="a.bam"), row(1, "b", sites="b.bed"), row(2, "e", sites="e.bed")],
              "none labelled": [row(0, "c"), row(1, "d")]}
    cases = [(sheet, scope, given) for sheet in sheets for scope in ("per_genome", "joint", "leave_one_out")
             for given in ("", "ecoli-cpu")]
    code = functions(WORKFLOW, "withModels") + "\ngroovy.json.JsonOutput.toJson(withModels(rows, scope, given))"
    results = render([{"code": code, "binding": {"rows": sheets[sheet], "scope": scope, "given": given}}
                      for sheet, scope, given in cases])
    for (sheet, scope, given), result in zip(cases, results):
        samples = [Sample(id=meta["id"], fasta=fasta, bam=bam or None, sites=sites or None)
                   for meta, fasta, bam, _, _, _, sites in sheets[sheet]]
        try:
            chosen, trained = models(samples, Params(model_scope=scope, model=given or None))
        except InputError as error:
            assert isinstance(result, dict) and result["error"] == str(error), (sheet, scope, given)
            continue
        metas = [entry[0] for entry in json.loads(result)]
        assert {meta["id"]: meta["model"] for meta in metas} == chosen, (sheet, scope, given)
        assert [meta["labelled"] for meta in metas] == [s.labelled for s in samples]
        places = {name: place for meta in metas for name, place in meta["training"]}
        assert sorted(places, key=places.get) == list(trained) and sorted(places.values()) == list(range(len(trained)))
        assert {name: [m["id"] for m in metas if [name, places[name]] in m["training"]] for name in places} == {
            name: [s.id for s in members] for name, members in trained.items()}, (sheet, scope, given)
    assert len(cases) == 24


def test_the_model_parameter_is_a_folder_or_a_bundled_models_name(tmp_path):
    """modelFolder (subworkflows/local/utils_pygenome_pipeline): a folder as it is, else the name of a model in the
    pipeline's pygenome/data/models; else an error naming the bundled ones. The bundled models are the package's."""
    from pygenome.io.model_store import bundled_models

    project = tmp_path / "project"
    for name in ("tiny", "small"):
        (project / "pygenome" / "data" / "models" / name).mkdir(parents=True)
        (project / "pygenome" / "data" / "models" / name / "config.json").write_text("{}")
    (project / "pygenome" / "data" / "models" / "unfinished").mkdir()
    (tmp_path / "mine").mkdir()
    code = functions(UTILS, "modelFolder") + "\ndef found = modelFolder(model, project_dir)\nfound.toString()"
    values = [str(tmp_path / "mine"), "tiny", "unfinished", str(tmp_path / "absent"), None]
    results = render([{"code": code, "binding": {"model": value, "project_dir": str(project)}} for value in values])
    assert results[:2] == [str(tmp_path / "mine"), str(project / "pygenome" / "data" / "models" / "tiny")]
    for result, value in zip(results[2:4], values[2:4]):
        assert result == {"error": f"--model {value}: neither a model folder nor the name of a bundled model (small, "
                                   "tiny); give the folder `pygenome train` wrote (it holds config.json and "
                                   "model.safetensors)"}
    assert results[4] == "[]"
    for name in bundled_models():  # the pipeline's own folder is the package's
        (result,) = render([{"code": code, "binding": {"model": name, "project_dir": str(ROOT)}}])
        assert Path(result) == model_folder(name)


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


def with_models(rows: list, scope: str, given: str = "") -> list:
    """The pipeline's ``withModels`` (workflows/pygenome.nf) on resolved rows: each meta with model, labelled and
    training; or {"error": message}."""
    code = functions(WORKFLOW, "withModels") + "\ngroovy.json.JsonOutput.toJson(withModels(rows, scope, given))"
    (result,) = render([{"code": code, "binding": {"rows": rows, "scope": scope, "given": given}}])
    return result if isinstance(result, dict) else json.loads(result)


def contigs_of(genomes: list[tuple[dict, str]]) -> list:
    """The pipeline's ``contigsOf`` (workflows/pygenome.nf) on each (meta, FASTA path or jar: URI): its
    [id, name, key, index] rows."""
    code = functions(WORKFLOW, "contigsOf", "fastaNames", "fileKeys", "numbered") + \
        "\ngroovy.json.JsonOutput.toJson(contigsOf(meta, file(fasta)))"
    return [json.loads(result) for result in render([{"code": code, "binding": {"meta": meta, "fasta": fasta}}
                                                     for meta, fasta in genomes])]


def replay_pipeline(folder: Path, rows: list, scope: str, params: dict, model: Path | None = None) -> Replay:
    """The pipeline's process calls for a samplesheet (its rows as the pipeline resolves them), as the workflow in
    workflows/pygenome.nf wires them (models from its withModels, contigs from its contigsOf), run in DAG order;
    ``model``: the folder of --model."""
    replay = Replay(folder, params)
    rows = with_models(rows, scope, model.name if model else "")
    samples = [meta for meta, *_ in rows]
    labelled = [meta for meta in samples if meta["labelled"]]
    files = {meta["id"]: dict(zip(("fasta", "bam", "bam_index", "control_bam", "control_index", "sites",
                                   "annotation"), rest)) for meta, *rest in rows}
    roles = {"fasta": "genome", "bam": "treated", "bam_index": "treated", "control_bam": "control",
             "control_index": "control", "sites": "sites"}  # LABEL's stageAs folders
    for meta in labelled:
        binding = {"meta": meta}
        staged = {}
        for role, source in files[meta["id"]].items():
            if role not in roles:
                continue
            binding[role] = f"{roles[role]}/{uri_name(source)}" if source else []
            if source:
                staged[binding[role]] = source
        replay.call("LABEL", f"label/{meta['id']}", binding, staged)
    contigs = {meta["id"]: [(name, key) for _, name, key, _ in found]
               for meta, found in zip(samples, contigs_of([(m, files[m["id"]]["fasta"]) for m in samples]))}
    trained = {}  # name → (its place in the plan, its genomes)
    for meta in labelled:
        for name, order in meta["training"]:
            trained.setdefault(name, (order, []))[1].append(meta)
    checkpoints = folder / "checkpoints"
    models = {}  # name → (meta, source of its folder)
    for name, (order, members) in sorted(trained.items(), key=lambda item: item[1][0]):
        fastas = [f"genome{n}/{uri_name(files[m['id']]['fasta'])}" for n, m in enumerate(members, start=1)]
        labels = [f"labels/{m['id']}.labels.track.npz" for m in members]
        replay.call("TRAIN", f"train/{name}", {
            "meta": {"id": name, "index": order}, "genome_ids": [m["id"] for m in members],
            "fastas": fastas, "labels": labels, "checkpoints": str(checkpoints)},
            {**{f: files[m["id"]]["fasta"] for f, m in zip(fastas, members)}, **dict.fromkeys(labels, "LABEL")})
        models[name] = ({"id": name, "index": order}, "TRAIN")
    if model:
        models[model.name] = ({"id": model.name, "index": 0}, str(model))
    for meta in samples:
        labels = f"labels/{meta['id']}.labels.track.npz" if meta["labelled"] else []
        for index, (name, key) in enumerate(contigs[meta["id"]]):
            fasta = f"genome/{uri_name(files[meta['id']]['fasta'])}"
            replay.call("PREDICT", f"predict/{meta['id']}/{name}", {
                "meta": {**meta, "contig": name, "contig_key": key, "contig_index": index},
                "model": f"model/{meta['model']}", "fasta": fasta, "labels": labels},
                {f"model/{meta['model']}": models[meta["model"]][1], fasta: files[meta["id"]]["fasta"],
                 **({labels: "LABEL"} if labels else {})})
    for meta in labelled:
        fasta = f"genome/{uri_name(files[meta['id']]['fasta'])}"
        replay.call("BASELINE", f"baseline/{meta['id']}", {"meta": meta, "fasta": fasta},
                    {fasta: files[meta["id"]]["fasta"]})
    evaluated = []
    for name, (model_meta, source) in models.items():
        members = [meta for meta in labelled if meta["model"] == name]
        if not members:
            continue
        predictions = [f"predictions/{m['id']}.{key}.scores.track.npz" for m in members for _, key in contigs[m["id"]]]
        labels = [f"labels/{m['id']}.labels.track.npz" for m in members]
        scans = [f"baselines/{m['id']}.scores.track.npz" for m in members]
        replay.call("EVALUATE", f"evaluate/{name}", {
            "meta": model_meta, "model": f"model/{name}", "predictions": predictions,
            "labels": labels, "baselines": scans},
            {f"model/{name}": source, **dict.fromkeys(predictions, "PREDICT"), **dict.fromkeys(labels, "LABEL"),
             **dict.fromkeys(scans, "BASELINE")})
        evaluated.append(name)
    classes = []
    for meta in (m for m in samples if files[m["id"]]["annotation"]):
        genome_id = meta["id"]
        fasta = f"genome/{uri_name(files[genome_id]['fasta'])}"
        annotation = f"annotation/{uri_name(files[genome_id]['annotation'])}"
        given = {fasta: files[genome_id]["fasta"], annotation: files[genome_id]["annotation"]}
        beds = [f"sites/{genome_id}.{key}.predicted.bed" for _, key in contigs[genome_id]]
        known = f"known/{genome_id}.labels.track.npz" if meta["labelled"] else []
        runs = [("predicted", beds, known)]
        if known:
            runs.append(("known", [f"sites/{genome_id}.labels.track.npz"], []))
        for kind, sites, against in runs:
            replay.call("CLASSIFY", f"classify/{genome_id}/{kind}", {
                "meta": {**meta, "sites": kind}, "fasta": fasta, "annotation": annotation, "sites": sites,
                "known": against},
                {**given, **{site: "PREDICT" if site.endswith(".bed") else "LABEL" for site in sites},
                 **({against: "LABEL"} if against else {})})
            classes.append(f"classify/{genome_id}.{kind}.classes.json")
    attention = [f"attention/{m['id']}.{key}.attention.npz" for m in samples for _, key in contigs[m["id"]]]
    fastas = [f"genome{n}/{uri_name(files[m['id']]['fasta'])}" for n, m in enumerate(samples, start=1)]
    decoy = f"decoy/{Path(params['decoy']).name}"
    replay.call("MOTIFS", "motifs", {
        "meta": {"id": "survey"}, "genome_ids": [m["id"] for m in samples], "fastas": fastas, "attention": attention,
        "attention_counts": [len(contigs[m["id"]]) for m in samples], "databases": [], "decoy": decoy},
        {**{f: files[m["id"]]["fasta"] for f, m in zip(fastas, samples)}, **dict.fromkeys(attention, "PREDICT"),
         decoy: params["decoy"]})
    motifs = sorted({f"motifs/{name}" for process, name in replay.produced if process == "MOTIFS"})
    sites = [f"sites/{m['id']}.{key}.predicted.bed" for m in samples for _, key in contigs[m["id"]]]
    replay.call("SURVEY", "survey", {
        "meta": {"id": "survey"}, "genome_ids": [m["id"] for m in samples], "fastas": fastas, "sites": sites,
        "site_counts": [len(contigs[m["id"]]) for m in samples], "motifs": motifs},
        {**{f: files[m["id"]]["fasta"] for f, m in zip(fastas, samples)}, **dict.fromkeys(sites, "PREDICT"),
         **dict.fromkeys(motifs, "MOTIFS")})
    qcs = [f"label/{m['id']}.qc.json" for m in labelled]
    survey = [f"survey/{name}" for name in ("survey.tsv", "survey.motifs.tsv", "survey.json", "survey.figures")]
    replay.call("REPORT", "report", {
        "meta": {"id": "report"}, "qcs": qcs, "models": [f"train/{name}" for name in models],
        "evaluations": [f"evaluate/{name}" for name in evaluated], "motifs": motifs, "survey": survey,
        "classes": classes},
        {**dict.fromkeys(qcs, "LABEL"), **{f"train/{name}": source for name, (_, source) in models.items()},
         **{f"evaluate/{name}": "EVALUATE" for name in evaluated}, **dict.fromkeys(motifs, "MOTIFS"),
         **dict.fromkeys(survey, "SURVEY"), **dict.fromkeys(classes, "CLASSIFY")})
    replay.samples, replay.contigs, replay.files, replay.checkpoints = samples, contigs, files, checkpoints
    return replay


def nextflow_params(**overrides) -> dict:
    return {"preset": "cpu", "train_settings": TEST_SETTINGS, "title": "pygenome test profile", "description": None,
            "baseline": True, "decoy": str(ROOT / "assets" / "motifs" / "jaspar2024_core_eukaryotic_decoy.transfac.gz"),
            **overrides}


def run_params(scope: str, settings: str = TEST_SETTINGS, model=None):
    return read_params(training=dict(setting_pairs(settings.split())), title="pygenome test profile", threads=2,
                       model_scope=scope, model=model)


# the test profile's model, trained for a few steps only: the replays of label-free rows check commands, not models
TINY = {"steps": 20, "eval_every": 10, "checkpoint_every": 10, "warmup_steps": 2}
TINY_SETTINGS = re.sub(r"\b(\w+)=(\S+)", lambda match: f"{match.group(1)}={TINY.get(match.group(1), match.group(2))}",
                       TEST_SETTINGS)


def mixed_sheet(folder: Path, ids: tuple) -> Path:
    """A samplesheet of the test genomes ``ids`` among alpha (alignments), beta (known sites) and gamma, a genome
    without labels: a gzipped FASTA of three pieces of alpha named ``ctg_1 …``, ``ctg|1`` and ``CTG_1`` (keys ctg_1,
    ctg_1_2, CTG_1_3)."""
    import gzip

    data = ROOT / "assets" / "test"
    folder.mkdir(parents=True, exist_ok=True)
    for path in data.iterdir():
        if path.suffix != ".py":
            shutil.copy(path, folder / path.name)
    sequence = read_genome(data / "alpha.fa").codes["chrom"]
    from pygenome.io.genome import decode

    pieces = [decode(sequence[start:start + 3000]) for start in (0, 10_000, 20_000)]
    records = "".join(f">{name}\n" + "\n".join(piece[i:i + 60] for i in range(0, len(piece), 60)) + "\n"
                      for name, piece in zip(("ctg_1 a piece of alpha", "ctg|1\tanother", "CTG_1"), pieces))
    (folder / "gamma.fa.gz").write_bytes(gzip.compress(records.encode()))
    for name, contigs in (("beta", [(c.name, c.length) for c in read_genome(data / "beta.fa").contigs]),
                          ("gamma", [("ctg_1", 3000), ("ctg|1", 3000), ("CTG_1", 3000)])):
        (folder / f"{name}.gff3").write_text(genes_gff(contigs))
    rows = {"alpha": "alpha,alpha.fa,alpha.tex_plus.bam,alpha.tex_minus.bam,,,circular",
            "beta": "beta,beta.fa,,,beta.bed,beta.gff3,", "gamma": "gamma,gamma.fa.gz,,,,gamma.gff3,linear"}
    sheet = folder / "samplesheet.csv"
    sheet.write_text("id,fasta,bam,control_bam,sites,annotation,topology\n" + "".join(f"{rows[i]}\n" for i in ids))
    return sheet


def genes_gff(contigs: list[tuple[str, int]]) -> str:
    """A GFF3 of genes every 1.5 kb (1 kb long, strands alternating) on each contig (name, length)."""
    lines = ["##gff-version 3"] + [f"##sequence-region {name} 1 {length}" for name, length in contigs]
    for name, length in contigs:
        for number, start in enumerate(range(300, length - 1000, 1500)):
            strand = "+-"[number % 2]
            lines.append(f"{name}\ttest\tgene\t{start + 1}\t{start + 1000}\t.\t{strand}\t.\t"
                         f"ID={name}.gene{number};gene=g{number}")
    return "\n".join(lines) + "\n"


def replayed(folder: Path, ids: tuple, scope: str, model: Path | None = None) -> dict:
    """A replay of a mixed sheet (tiny training) and the tasks pygenome run plans for it."""
    sheet = mixed_sheet(folder / "data", ids)
    replay = replay_pipeline(folder / "work", resolve_rows(str(sheet), schema_rows(sheet)), scope,
                             nextflow_params(train_settings=TINY_SETTINGS), model)
    samples = read_samplesheet(sheet)
    return {"replay": replay, "samples": samples,
            "tasks": planned_tasks(samples, folder / "results", run_params(scope, TINY_SETTINGS, model))}


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """A genome with labels (beta) and one without (gamma), a model per genome: beta's, the only one, predicts both."""
    return replayed(tmp_path_factory.mktemp("survey"), ("beta", "gamma"), "per_genome")


@pytest.fixture(scope="module")
def given_model(tmp_path_factory, survey):
    """Only a genome without labels, predicted by a given model folder (survey's beta model, copied as
    ``shared-model``): no label, train, baseline or evaluate task; the report without label QC and evaluations."""
    folder = tmp_path_factory.mktemp("given_model")
    model = folder / "shared-model"
    trained = next(record for record in survey["replay"].records if record["process"] == "TRAIN")
    shutil.copytree(trained["folder"] / "beta", model)
    return replayed(folder, ("gamma",), "per_genome", model)


@pytest.fixture(scope="module")
def given_model_labelled(tmp_path_factory, survey):
    """alpha (labelled) and gamma predicted by a given model, evaluated on alpha (every position: it never saw it)."""
    folder = tmp_path_factory.mktemp("given_model_labelled")
    model = folder / "shared-model"
    trained = next(record for record in survey["replay"].records if record["process"] == "TRAIN")
    shutil.copytree(trained["folder"] / "beta", model)
    return replayed(folder, ("alpha", "gamma"), "joint", model)


@pytest.fixture(scope="module")
def leave_one_out(tmp_path_factory):
    """Two labelled genomes and one without: without_alpha, without_beta and the extra joint model (for gamma)."""
    return replayed(tmp_path_factory.mktemp("leave_one_out"), ("alpha", "beta", "gamma"), "leave_one_out")


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
    replay = replay_pipeline(folder / "work", resolve_rows(str(sheet), schema_rows(sheet)), "per_genome",
                             nextflow_params())
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
    replay = replay_pipeline(folder / "work", rows, "joint", nextflow_params())
    samples = read_samplesheet(bucket / "samplesheet.csv")  # the same rows, read by pygenome run from the folder
    return {"replay": replay, "samples": samples, "rows": rows,
            "tasks": planned_tasks(samples, folder / "results", run_params("joint"))}


def planned_tasks(samples: list[Sample], outdir: Path, params) -> dict:
    contigs = {s.id: [c.name for c in read_genome(s.fasta, s.topology).contigs] for s in samples}
    return {task.key: task for task in plan(samples, contigs, outdir, params)}


def normalised(argv: list[str]) -> dict:
    """The options the real CLI parses from ``argv``, with files as their names (work directories and the run's
    folders differ) and the runtime-only options (threads, quiet, device, output folders) left out."""
    # --model names a folder that must exist: the process's, in a work directory, and the plan's, in a run's folder that
    # may not have run (the replayed commands ran, so theirs existed); here it is only read as a path
    with unittest.mock.patch("pygenome.io.model_store.model_folder", Path):
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


@pytest.mark.parametrize("scope", ["per_genome", "joint", "survey", "given_model",
                                   pytest.param("given_model_labelled", marks=pytest.mark.slow),
                                   pytest.param("leave_one_out", marks=pytest.mark.slow)])
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


@pytest.mark.parametrize("scope", ["per_genome", "survey"])
def test_each_contig_has_the_key_of_the_plan_and_of_the_label_qc(scope, request):
    replayed = request.getfixturevalue(scope)
    replay = replayed["replay"]
    for sample in replayed["samples"]:
        names = [contig.name for contig in read_genome(sample.fasta, sample.topology).contigs]
        assert replay.contigs[sample.id] == list(zip(names, layout.file_keys(names)))
        if sample.labelled:  # the label step writes the same keys into its QC
            qc = json.loads(replay.produced["LABEL", f"{sample.id}.qc.json"].read_text())
            assert [(contig["name"], contig["key"]) for contig in qc["genome"]["contigs"]] == replay.contigs[sample.id]
    if scope == "survey":
        assert replay.contigs["gamma"] == [("ctg_1", "ctg_1"), ("ctg|1", "ctg_1_2"), ("CTG_1", "CTG_1_3")]


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
