"""The Nextflow pipeline, proved without a Nextflow runtime (none runs on these machines; nf-test files in
``tests/*.nf.test`` run where one does).

- Every ``.nf`` file parses with a real Nextflow parser (reftrace), and the pipeline keeps its rules: one resource
  label, a container, a ``stub:`` and ``versions.yml`` per process; ``process_gpu`` on the GPU processes; every
  include resolves and every module is used.
- Replay: each process's ``script:`` block is rendered by Groovy (as Nextflow renders it) with the values its inputs
  take for the bundled test data, and run with bash in a scratch work directory, in the order of the DAG. Its
  ``pygenome`` command must parse with the real CLI to the same options as the command ``pygenome run`` plans for
  the same task; every output it declares must be written; and its outputs must match what ``pygenome run`` wrote.
- ``nextflow_schema.json`` is a valid JSON Schema whose defaults are those of ``nextflow.config``, and the test
  profile's parameters validate against it.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

from pygenome.cli import _settings, build_parser
from pygenome.genome import read_genome
from pygenome.pipeline import MOTIFS_PREFIX, read_params
from pygenome.run import run
from pygenome.samplesheet import read_samplesheet

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "modules" / "local").glob("*/main.nf"))
GPU_PROCESSES = {"TRAIN", "PREDICT"}
TEST_SETTINGS = re.search(r"train_settings\s*=\s*'([^']*)'", (ROOT / "conf" / "test.config").read_text()).group(1)


def process_text(module: Path) -> dict:
    """The blocks of the one process of a module file: name, input, output, script, stub (text)."""
    text = module.read_text()
    name = re.search(r"^process\s+(\w+)\s*\{", text, re.M).group(1)
    blocks = dict(re.findall(r"^    (input|output|script|stub):\n(.*?)(?=^    \w+:\n|^\}\n)", text, re.M | re.S))
    return {"name": name, "text": text, **blocks}


PROCESSES = {process_text(module)["name"]: process_text(module) for module in MODULES}


# Parsing and rules ------------------------------------------------------------------------------------------------

def parse(path: Path):
    reftrace = pytest.importorskip("reftrace")
    return reftrace.Module.from_file(str(path))


@pytest.mark.parametrize("path", [ROOT / "main.nf", *MODULES], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_nextflow_file_parses(path):
    module = parse(path)
    assert not hasattr(module, "error"), f"{path}: {module.error}"


def test_the_parser_finds_a_syntax_error(tmp_path):
    broken = tmp_path / "main.nf"
    broken.write_text(PROCESSES["LABEL"]["text"].replace("    output:", "    output: {{"))
    assert hasattr(parse(broken), "error")


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.parent.name)
def test_every_process_has_one_label_a_container_a_stub_and_versions(module):
    (process,) = parse(module).processes
    labels = [label.value for label in process.labels]
    assert len(labels) == 1 and len(process.containers) == 1 and len(process.tags) == 1
    assert (labels[0] == "process_gpu") == (process.name in GPU_PROCESSES)
    blocks = PROCESSES[process.name]
    assert blocks["stub"].strip() and "versions.yml" in blocks["stub"]
    assert 'path "versions.yml"' in blocks["output"] and "END_VERSIONS" in blocks["script"]
    assert re.search(rf"withLabel:\s*'{labels[0]}'", (ROOT / "conf" / "base.config").read_text())


def test_includes_resolve_and_every_module_is_used():
    main = parse(ROOT / "main.nf")
    included = {}
    for include in main.includes:
        if include.from_module.startswith("plugin/"):
            continue
        path = (ROOT / include.from_module / "main.nf").resolve()
        assert path.is_file(), f"main.nf includes {include.from_module}, which does not exist"
        included.update({item.name: path for item in include.items})
    assert sorted(included.values()) == MODULES  # every module included
    workflow = (ROOT / "main.nf").read_text().split("workflow {", 1)[1]
    for name in included:
        assert re.search(rf"\b{name}\(", workflow), f"{name} is included but never called"


# Replay -----------------------------------------------------------------------------------------------------------

def render(requests: list[dict]) -> list[str]:
    """Render Groovy (the statements of a script: block, or a GString) with bindings, through tests/nextflow."""
    groovy = shutil.which("groovy")
    if groovy is None:
        pytest.skip("groovy is not installed (apt-get install groovy)")
    env = dict(os.environ)
    java = shutil.which("java")
    if java and not Path(env.get("JAVA_HOME", "/nonexistent"), "bin", "java").exists():
        env["JAVA_HOME"] = str(Path(java).resolve().parents[1])
    result = subprocess.run([groovy, str(ROOT / "tests" / "nextflow" / "render.groovy")], input=json.dumps(requests),
                            capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout)


def pygenome_argv(script: str) -> list[str]:
    """The arguments after ``pygenome`` of the script's pygenome command (after ``-m pygenome`` under torchrun)."""
    commands = [line for line in script.replace("\\\n", " ").splitlines() if "pygenome " in line
                and "--version" not in line]
    assert len(commands) == 1, f"one pygenome command per script, found: {commands}"
    words = shlex.split(commands[0])
    start = words.index("pygenome") + 1
    assert words[0] == "pygenome" or words[start - 2:start] == ["-m", "pygenome"]
    return words[start:]


def normalised(argv: list[str]) -> dict:
    """The options the real CLI parses from ``argv``, with files as their names (work directories and the run's
    folders differ) and the runtime-only options (threads, quiet, output folders) left out."""
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
               if key not in ("func", "threads", "quiet", "outdir", "out")}
    if "set" in options:
        options["set"] = dict(_settings(options["set"]))
    return options


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """``pygenome run`` on the bundled test data with the test profile's training settings, and its plan."""
    folder = tmp_path_factory.mktemp("planned")
    for path in (ROOT / "assets" / "test").iterdir():
        if path.suffix != ".py":
            shutil.copy(path, folder / path.name)
    params = read_params(training=dict(_settings(TEST_SETTINGS.split())), title="pygenome test profile",
                         threads=2)
    samples = read_samplesheet(folder / "samplesheet.csv")
    run(folder / "samplesheet.csv", folder / "results", params, progress=False, say=lambda line: None)
    from pygenome.pipeline import plan

    contigs = {s.id: [c.name for c in read_genome(s.fasta, s.topology).contigs] for s in samples}
    tasks = plan(samples, contigs, folder / "results", params)
    return {"folder": folder, "results": folder / "results", "samples": samples, "contigs": contigs,
            "params": params, "tasks": {task.key: task for task in tasks}}


def process_calls(planned) -> list[tuple[str, str, dict, dict]]:
    """Each process call of the pipeline on the test data, in DAG order: (process, the planned task's key, binding,
    staged files: the name in the work directory → a path, or the process whose output of the same name it is)."""
    samples, contigs, params = planned["samples"], planned["contigs"], planned["params"]
    nextflow_params = {"preset": params.preset, "train_settings": TEST_SETTINGS, "title": params.title,
                       "description": params.description, "baseline": params.baseline}
    calls = []

    def call(process, key, binding, staged):
        task = {"cpus": 2, "accelerator": None, "ext": {}, "process": process}
        calls.append((process, key, {**binding, "task": task, "params": nextflow_params}, staged))

    def named(path):
        return Path(path).name if path else []

    for s in samples:
        index = {f"{named(b)}.bai": f"{b}.bai" for b in (s.bam, s.control_bam) if b}
        call("LABEL", f"label/{s.id}",
             {"meta": {"id": s.id, "topology": s.topology}, "fasta": named(s.fasta), "bam": named(s.bam),
              "bam_index": f"{named(s.bam)}.bai" if s.bam else [], "control_bam": named(s.control_bam),
              "control_index": f"{named(s.control_bam)}.bai" if s.control_bam else [], "sites": named(s.sites)},
             {named(p): p for p in (s.fasta, s.bam, s.control_bam, s.sites) if p} | index)
    for s in samples:
        fasta = f"genome1/{named(s.fasta)}"
        call("TRAIN", f"train/{s.id}", {"meta": {"id": s.id}, "genome_ids": [s.id], "fastas": [fasta],
                                        "labels": [f"{s.id}.labels.track.npz"]},
             {fasta: s.fasta, f"{s.id}.labels.track.npz": "LABEL"})
    for s in samples:
        for contig in contigs[s.id]:
            prefix = f"{s.id}.{contig}"
            call("PREDICT", f"predict/{s.id}/{contig}",
                 {"meta": {"id": s.id, "topology": s.topology, "contig": contig, "prefix": prefix},
                  "model": f"model/{s.id}", "fasta": named(s.fasta), "labels": f"{s.id}.labels.track.npz"},
                 {f"model/{s.id}": "TRAIN", named(s.fasta): s.fasta, f"{s.id}.labels.track.npz": "LABEL"})
    for s in samples:
        call("BASELINE", f"baseline/{s.id}", {"meta": {"id": s.id, "topology": s.topology}, "fasta": named(s.fasta)},
             {named(s.fasta): s.fasta})
    for s in samples:
        predictions = [f"{s.id}.{contig}.scores.track.npz" for contig in contigs[s.id]]
        call("EVALUATE", f"evaluate/{s.id}",
             {"meta": {"id": s.id}, "model": f"model/{s.id}", "predictions": predictions,
              "labels": [f"{s.id}.labels.track.npz"], "baselines": [f"{s.id}.scores.track.npz"]},
             {f"model/{s.id}": "TRAIN", **dict.fromkeys(predictions, "PREDICT"), f"{s.id}.labels.track.npz": "LABEL",
              f"{s.id}.scores.track.npz": "BASELINE"})
    attention = [f"{s.id}.{contig}.attention.npz" for s in samples for contig in contigs[s.id]]
    fastas = [f"genome{n}/{named(s.fasta)}" for n, s in enumerate(samples, start=1)]
    decoy = f"decoy/{named(params.decoy)}"
    call("MOTIFS", "motifs", {"genome_ids": [s.id for s in samples], "fastas": fastas, "attention": attention,
                              "attention_counts": [len(contigs[s.id]) for s in samples], "databases": [],
                              "decoy": decoy, "prefix": MOTIFS_PREFIX},
         {**{f: s.fasta for f, s in zip(fastas, samples)}, **dict.fromkeys(attention, "PREDICT"), decoy: params.decoy})
    qcs = [f"{s.id}.qc.json" for s in samples]
    motif_files = [f"motifs/{MOTIFS_PREFIX}.{kind}" for kind in ("heads.tsv", "profiles.tsv", "peaks.tsv",
                                                                   "motifs.meme", "matches.tsv", "recurrence.tsv",
                                                                   "motifs.json", "figures")]
    call("REPORT", "report", {"qcs": qcs, "models": [f"train/{s.id}" for s in samples],
                              "evaluations": [f"evaluate/{s.id}" for s in samples], "motifs": motif_files,
                              "motifs_prefix": MOTIFS_PREFIX},
         {**dict.fromkeys(qcs, "LABEL"), **{f"train/{s.id}": "TRAIN" for s in samples},
          **{f"evaluate/{s.id}": "EVALUATE" for s in samples}, **dict.fromkeys(motif_files, "MOTIFS")})
    return calls


def declared_outputs(process: str) -> list[tuple[str, bool]]:
    """The output patterns of a process (GString source) and whether each is optional."""
    return [(pattern, "optional: true" in line) for line in PROCESSES[process]["output"].splitlines()
            for pattern in re.findall(r'path\(?\s*"([^"]+)"', line)]


@pytest.fixture(scope="module")
def replayed(planned, tmp_path_factory):
    """Every process call rendered and run with bash in a work directory of its own, in DAG order."""
    calls = process_calls(planned)
    codes = [{"code": PROCESSES[process]["script"], "binding": binding} for process, _, binding, _ in calls]
    outputs = [{"code": f'"{pattern}"', "binding": binding} for process, _, binding, _ in calls
               for pattern, _ in declared_outputs(process)]
    rendered = render(codes + outputs)
    scripts, output_names = rendered[:len(calls)], iter(rendered[len(calls):])
    work = tmp_path_factory.mktemp("work")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    produced, records = {}, []
    for number, ((process, key, _, staged), script) in enumerate(zip(calls, scripts)):
        folder = work / f"{number:02d}.{process}"
        folder.mkdir()
        for name, source in staged.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(produced[source, Path(name).name] if source in PROCESSES else source)
        script = textwrap.dedent(script)  # Nextflow strips the block's indentation
        (folder / ".command.sh").write_text(script)
        result = subprocess.run(["bash", "-e", ".command.sh"], cwd=folder, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{process} ({key}) failed:\n{script}\n{result.stderr[-3000:]}"
        declared = [(next(output_names), optional) for _, optional in declared_outputs(process)]
        for pattern, optional in declared:
            found = list(folder.glob(pattern))
            assert found or optional, f"{process} ({key}) declares {pattern} but did not write it"
            produced.update({(process, path.name): path for path in found})
        records.append({"process": process, "key": key, "script": script, "folder": folder})
    return records


def test_every_script_calls_the_real_cli_as_pygenome_run_does(planned, replayed):
    for record in replayed:
        task = planned["tasks"][record["key"]]
        nextflow = normalised(pygenome_argv(record["script"]))
        assert nextflow == normalised(task.argv), f"{record['process']} ({record['key']}) differs from the plan"


def test_every_process_runs_and_writes_what_it_declares_and_pygenome_run_writes(planned, replayed):
    results = planned["results"]
    folders = {record["key"]: record["folder"] for record in replayed}
    assert set(folders) == set(planned["tasks"])  # the pipeline has a process call for every task of the plan
    for key in folders:
        if key.startswith(("label/", "baseline/")):  # bit-identical from the same inputs
            genome = key.split("/")[1]
            for planned_file in (results / key.split("/")[0]).glob(f"{genome}.*"):
                assert (folders[key] / planned_file.name).read_bytes() == planned_file.read_bytes(), planned_file
    for s in planned["samples"]:
        mine = json.loads((folders[f"evaluate/{s.id}"] / s.id / "evaluation.json").read_text())
        theirs = json.loads((results / "evaluate" / s.id / "evaluation.json").read_text())
        assert mine["overall"]["roc_auc"] == pytest.approx(theirs["overall"]["roc_auc"], abs=1e-3)
        assert mine["baseline"]["overall"] == theirs["baseline"]["overall"]
    assert (folders["report"] / "report.html").stat().st_size > 100_000


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


def test_the_test_profile_validates_and_its_samplesheet_reads():
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    params = config_params((ROOT / "nextflow.config").read_text()) | config_params(
        (ROOT / "conf" / "test.config").read_text())
    params = {name: value for name, value in params.items() if value is not None}
    jsonschema.Draft202012Validator(schema).validate(params)
    assert [s.id for s in read_samplesheet(params["input"])] == ["alpha", "beta"]
    with pytest.raises(jsonschema.ValidationError, match="'gpu' is not one of"):
        jsonschema.Draft202012Validator(schema).validate(params | {"preset": "gpu"})
