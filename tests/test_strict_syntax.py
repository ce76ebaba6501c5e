"""Nextflow's strict syntax (the default parser from Nextflow 26.04), proved without a Nextflow runtime by the checker
in tests/nextflow/strict_syntax.py: every .nf and .config file of the repository passes it; each rule fires on a
planted violation and stays quiet on its near miss; and violations planted in a real module are found, exactly, at
the lines where they were planted."""

import os
import textwrap
from pathlib import Path

import pytest

from tests.nextflow.strict_syntax import check, check_file, tokenize

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {".git", ".venv", "work", "results", ".nf-test"}


def nextflow_files() -> list[Path]:
    """Every .nf and .config file of the repository (not under .git, .venv, work, results, .nf-test)."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED)
        found += [Path(folder, name) for name in sorted(files) if name.endswith((".nf", ".config"))]
    return found


def rules(text: str, kind: str = "script") -> set[str]:
    return {violation.rule for violation in check(textwrap.dedent(text), kind)}


def found(text: str, kind: str = "script") -> list[tuple[int, str]]:
    return [(violation.line, violation.rule) for violation in check(textwrap.dedent(text), kind)]


# -- the repository ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", nextflow_files(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_repository_file_keeps_strict_syntax(path):
    violations = check_file(path)
    name = path.relative_to(ROOT).as_posix()
    assert not violations, "\n".join(f"{name}:{v.line} {v.rule} {v.message}" for v in violations)


def test_the_pipeline_files_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in nextflow_files()}
    assert {"main.nf", "nextflow.config", "nf-test.config"} <= names
    assert any(name.startswith("modules/") and name.endswith(".nf") for name in names)
    assert any(name.startswith("conf/") for name in names)


# -- the lexer --------------------------------------------------------------------------------------------------------

LEXED = "\n".join([
    "// a comment: it $HOME {",
    "/* a block comment: \"it\" $PWD",
    "   over two lines */",
    r"""x = 'single $HOME' + "double $name.id ${ f({ y -> "${y}}" }) } \$HOME" """,
    r'''y = """''',
    r'''    $z \$BASH ${ "nested ${w}" } "quoted" ""''',
    '""" + ' + "'''raw $HOME'''" + r" + /re\/gex ${notInterpolated}/ + $/dollar $HOME/$",
    "q = a / b / c",
])


def test_lexer_skips_comments_and_lexes_interpolations_as_code():
    tokens = tokenize(LEXED)
    assert [t.text for t in tokens if t.kind == "ident"] == ["x", "name", "id", "f", "y", "y", "y", "z", "w", "q",
                                                             "a", "b", "c"]
    assert [t.quote for t in tokens if t.kind == "string"] == ["'", "'''", "/", "$/"]
    assert [t.quote for t in tokens if t.kind == "gstring_begin"] == ['"', '"', '"""', '"']
    assert [t.line for t in tokens if t.text in ("x", "y", "q") and t.nl_before] == [4, 5, 8]
    assert [t.text for t in tokens if t.text == "/"] == ["/", "/"]  # q = a / b / c: divisions, not a slashy string


@pytest.mark.parametrize("source, slashy", [
    ("a = b / 2 / c", 0),
    ("a = f(x) / g(y) / 2", 0),
    ("a = list[0] / 2 // a comment /", 0),
    ("ok = name ==~ /^[a-z]+$/", 1),
    ("name.replaceAll(/[^A-Za-z0-9_.-]/, '_')", 1),
    ("return /x\\/y/", 1),
])
def test_a_slash_is_a_slashy_string_or_a_division_by_the_token_before_it(source, slashy):
    assert sum(t.quote == "/" for t in tokenize(source)) == slashy


# -- each rule: a planted violation, and a near miss ------------------------------------------------------------------

CASES = [
    # closure-call
    ("closure-call", "script", """
        workflow {
            def words = { x -> x }
            println(words('a'))
        }
    """, """
        def words(x) {
            return x
        }

        workflow {
            def join = { x -> x }
            println(words('a') + join.call('b'))
        }
    """),
    ("closure-call", "script", """
        process HELLO {
            input:
            val names

            script:
            quoted = { text -> "'${text}'" }
            \"\"\"
            echo ${quoted(names)}
            \"\"\"
        }
    """, """
        process HELLO {
            input:
            val names

            script:
            def quoted = "'${names}'"
            \"\"\"
            echo ${quoted}
            \"\"\"
        }
    """),
    ("closure-call", "config", """
        process.ext.args = { def flag = { v -> "--${v}" }; flag('x') }
    """, """
        process {
            memory = { 4.GB * task.attempt }
            ext.args = { def flag = { v -> "--${v}" }; flag.call('x') }
        }
    """),
    # implicit-it
    ("implicit-it", "script", """
        workflow {
            channel.of(1).map { it + 1 }.view()
        }
    """, """
        workflow {
            channel.of(1).map { it -> it + 1 }.view()
        }
    """),
    ("implicit-it", "script", """
        workflow {
            channel.of([1]).map { v -> v.collect { "got $it" } }.view()
        }
    """, """
        workflow {
            // it + 1, in a comment
            def item = 'it'
            def items = "it ${item} $item"
            channel.of(1).map { v -> [v, item.size(), items.size(), [it: v]] }.view { v -> "it: $v" }
        }
    """),
    ("implicit-it", "config", """
        process.publishDir = [path: 'x', saveAs: { it == 'versions.yml' ? null : it }]
    """, """
        process.publishDir = [path: 'x', saveAs: { name -> name == 'versions.yml' ? null : name }]
    """),
    # implicit-env
    ("implicit-env", "script", """
        process HELLO {
            input:
            val name

            script:
            \"\"\"
            echo $HOME ${name}
            \"\"\"
        }
    """, """
        process HELLO {
            input:
            val name
            val(SAMPLE)

            script:
            \"\"\"
            echo \\$HOME \\${PWD} ${name} $SAMPLE
            \"\"\"
        }
    """),
    ("implicit-env", "script", """
        workflow {
            println("PWD = ${PWD}")
            println(SLURM_JOB_NODELIST)
        }
    """, """
        include { HELLO } from './hello'

        workflow {
            /* $HOME, in a comment */
            println("PWD = ${env('PWD')} " + 'HOME = $HOME' + System.getenv('HOME'))
            HELLO(channel.of(1))
            HELLO.out.view { v -> v }
        }
    """),
    ("implicit-env", "config", """
        params.home = "${HOME}/data"
    """, """
        params.home = "${env('HOME')}/data"
        env { PYTHONNOUSERSITE = '1' }
        process.ext.launcher = { "srun \\$SLURM_JOB_NODELIST" }
    """),
    # channel-type
    ("channel-type", "script", """
        workflow {
            Channel.of(1, 2).view()
        }
    """, """
        workflow {
            channel.of(1, 2).view { v -> "Channel.of: ${v}" }
        }
    """),
    # deprecated-operator
    ("deprecated-operator", "script", """
        workflow {
            channel.from(1, 2).view()
        }
    """, """
        workflow {
            channel.of('1', '2').map { v -> v.toInteger() }.view()
        }
    """),
    ("deprecated-operator", "script", """
        workflow {
            channel.fromPath('*.fa').countFasta().view()
            channel.of(1).merge(channel.of(2)).view()
            channel.of(1).into { a; b }
        }
    """, """
        workflow {
            channel.fromPath('*.fa').flatMap { fa -> fa.splitFasta() }.count().view()
            channel.of([1, 'a']).join(channel.of([1, 'b'])).view()
        }
    """),
    # removed-syntax
    ("removed-syntax", "script", """
        import groovy.json.JsonSlurper

        workflow {
            println(new JsonSlurper())
        }
    """, """
        workflow {
            println(new groovy.json.JsonSlurper())
        }
    """),
    ("removed-syntax", "script", """
        class Helper {
            def x = 1
        }
    """, """
        enum Colour { RED, GREEN }

        workflow {
            println([Colour.RED, [1].class])
        }
    """),
    ("removed-syntax", "script", """
        workflow {
            for (x in [1, 2]) {
                println(x)
            }
        }
    """, """
        workflow {
            [1, 2].each { x -> println(x) }
        }
    """),
    ("removed-syntax", "script", """
        def countdown(n) {
            while (n > 0) {
                n--
            }
            return n
        }
    """, """
        def countdown(n) {
            n -= 1
            return n
        }
    """),
    ("removed-syntax", "script", """
        def describe(aligner) {
            switch (aligner) {
            case 'bwa':
                return 'bwa'
            }
        }
    """, """
        def describe(aligner) {
            if (aligner == 'bwa') {
                return 'bwa'
            } else {
                return 'other'
            }
        }
    """),
    ("removed-syntax", "script", """
        workflow {
            channel.of([1, [2, 3]]).map { a, b -> [a, *b] }.view()
        }
    """, """
        workflow {
            channel.of([1, [2, 3]]).map { a, b -> [a, b[0], b[1], b*.toString(), a * 2] }.view()
        }
    """),
    ("removed-syntax", "script", """
        def script() {
            return $/echo "hello"/$
        }
    """, """
        def script() {
            return '''echo "hello"'''
        }
    """),
    ("removed-syntax", "script", """
        def matches(id) {
            return 'SRA001.fastq' ==~ /${id}\\.f(?:ast)?q/
        }
    """, """
        def matches(id, a, b) {
            return 'SRA001.fastq' ==~ "${id}\\\\.f(?:ast)?q" && a / b / 2 > 0 && id ==~ /SRA\\d+/
        }
    """),
    ("removed-syntax", "script", """
        def poem() {
            return /
            Patterns in the code,
            /
        }
    """, """
        def poem() {
            return \"\"\"
            Patterns in the code,
            \"\"\"
        }
    """),
    ("removed-syntax", "script", """
        def meta() {
            String str = 'hello'
            return str
        }
    """, """
        def meta() {
            def str = 'hello'
            def map: Map = [:]
            return [str, map]
        }
    """),
    ("removed-syntax", "script", """
        def meta() {
            def Map map = [:]
            final x = 1
            def a = 1, b = 2
            return [map, x, a, b]
        }
    """, """
        def meta() {
            def map = [:]
            def (a, b) = [1, 2]
            return [map, a, b]
        }
    """),
    ("removed-syntax", "script", """
        def read(json) {
            def map = (Map) json
            return map
        }
    """, """
        def read(json, x) {
            def map = json as Map
            def y = (x) * 2
            return [map, y, (Map).name]
        }
    """),
    ("removed-syntax", "script", """
        def hello(x, y) {
            return [x, y]
        }

        workflow {
            println(hello(x = 1, y = 2))
        }
    """, """
        def hello(x = 1, y = 2) {
            return [x, y]
        }

        workflow {
            x = 1
            y = 2
            println(hello(x, y) == [x, y])
        }
    """),
    ("removed-syntax", "script", """
        process HELLO {
            input:
            val name

            shell:
            '''
            echo !{name}
            '''
        }
    """, """
        process HELLO {
            input:
            val name

            script:
            \"\"\"
            echo ${name}
            \"\"\"
        }
    """),
    ("removed-syntax", "script", """
        process HELLO {
            input:
            val name

            \"\"\"
            echo ${name}
            \"\"\"
        }
    """, """
        process HELLO {
            \"\"\"
            echo hello
            \"\"\"
        }
    """),
    ("removed-syntax", "script", """
        process HELLO {
            input:
            env FOO

            output:
            env(BAR)

            script:
            'true'
        }
    """, """
        process HELLO {
            input:
            env 'FOO'

            output:
            env('BAR')

            script:
            'true'
        }
    """),
    ("removed-syntax", "script", """
        include { HELLO } from './hello' addParams(message: 'Ciao')

        workflow {
            HELLO()
        }
    """, """
        include { HELLO } from './hello'

        workflow {
            HELLO('Ciao')
        }
    """),
    ("removed-syntax", "script", """
        nextflow.enable.dsl = 2

        workflow {
            println('hello')
        }
    """, """
        nextflow.preview.recursion = true

        workflow {
            println('hello')
        }
    """),
    ("removed-syntax", "script", """
        process HELLO {
            script:
            'true'
        }

        println('Hello world!')
    """, """
        params.greeting = 'Hello'

        include { HELLO } from './hello'

        def greet(name) {
            return "${params.greeting} ${name}"
        }

        workflow {
            println(greet('world'))
            workflow.onComplete = { println('done') }
        }
    """),
    ("removed-syntax", "script", """
        workflow.onComplete {
            println('done')
        }

        workflow {
            println('hello')
        }
    """, """
        println('Hello world!')
        def x = 1
        println(x)
    """),
    # config only
    ("config-function", "config", """
        def hostname() {
            return 'small'
        }
        params.host = 'small'
    """, """
        params.host = 'small'
        includeConfig ({ return params.host == 'small' ? 'small.config' : '/dev/null' }())
    """),
    ("config-statement", "config", """
        def hostname = 'small'
        params.host = hostname
    """, """
        params {
            host = 'small'
        }
        profiles {
            small {
                includeConfig 'small.config'
            }
        }
        plugins {
            id 'nf-schema@2.1.1'
        }
        timeline { enabled = true; file = "${params.outdir}/timeline.html" }
    """),
    ("config-statement", "config", """
        if (params.host == 'small') {
            params.max_cpus = 8
        }
    """, """
        params.max_cpus = { params.host == 'small' ? 8 : 32 }()
    """),
    ("config-setting-reference", "config", """
        google.location = 'us-west1'
        google.batch.subnetwork = "regions/${google.location}/subnetworks/default"
    """, """
        params.location = 'us-west1'
        google.location = params.location
        google.batch.subnetwork = "regions/${params.location}/subnetworks/default"
        workDir = "${launchDir}/work"
        params.home = env('HOME') ?: System.getenv('HOME')
        process {
            withName: 'PREDICT' {
                publishDir = [path: { "${params.outdir}/predict/${meta.id}" }, mode: 'copy']
                ext.args = { "--cpus ${task.cpus} --run ${workflow.runName}" }
            }
        }
        executor.jobName = { "${task.name}-${task.hash}" }
        dag.file = { name -> "${projectDir}/${name}" }('dag.html')
    """),
]


@pytest.mark.parametrize("rule, kind, bad, near_miss", CASES,
                         ids=[f"{rule}-{index}" for index, (rule, *_) in enumerate(CASES)])
def test_rule_fires_on_its_violation_and_not_on_the_near_miss(rule, kind, bad, near_miss):
    assert rule in rules(bad, kind), check(textwrap.dedent(bad), kind)
    assert check(textwrap.dedent(near_miss), kind) == []


def test_violations_carry_their_lines():
    source = """\
        workflow {
            def words = { x -> x }
            println(words('a'))
            channel.of(1).map { it }
            println("$HOME")
        }
    """
    assert found(source) == [(3, "closure-call"), (4, "implicit-it"), (5, "implicit-env")]


def test_check_file_reads_the_kind_from_the_suffix(tmp_path):
    config = tmp_path / "x.config"
    config.write_text("process.publishDir = [path: 'x', saveAs: { it }]\ndef f() { 1 }\n")
    assert [(v.line, v.rule) for v in check_file(config)] == [(1, "implicit-it"), (2, "config-function")]
    script = tmp_path / "x.nf"
    script.write_text("workflow {\n    Channel.of(1)\n}\n")
    assert [(v.line, v.rule) for v in check_file(script)] == [(2, "channel-type")]
    with pytest.raises(ValueError):
        check_file(tmp_path / "x.groovy")


# -- acceptance: violations planted in a real module ------------------------------------------------------------------


def module_file() -> Path:
    label = ROOT / "modules" / "local" / "label" / "main.nf"
    return label if label.exists() else sorted((ROOT / "modules").glob("**/*.nf"))[0]


def plant(lines: list[str]) -> tuple[list[str], list[int | None]]:
    """The module's lines with a closure-variable call and an implicit `it` planted after `script:`, and a bare
    `$HOME` in its script string; with, for each new line, the module's line it was (None: planted)."""
    script = next(i for i, line in enumerate(lines) if line.strip() == "script:")
    string = next(i for i in range(script + 1, len(lines)) if lines[i].strip().startswith('"""'))
    planted = {
        script: ["    def planted_flag = { value -> value ? \"--${value}\" : '' }",
                 "    def planted_call = planted_flag('x')",
                 "    def planted_it = ['x'].collect { it.toUpperCase() }"],
        string: ["    echo $HOME"],
    }
    new, origin = [], []
    for number, line in enumerate(lines, start=1):
        new.append(line)
        origin.append(number)
        for extra in planted.get(number - 1, []):
            new.append(extra)
            origin.append(None)
    return new, origin


def test_planted_violations_in_a_module_are_found_exactly_where_planted(tmp_path):
    module = module_file()
    lines = module.read_text().splitlines()
    new, origin = plant(lines)
    copy = tmp_path / "main.nf"
    copy.write_text("\n".join(new) + "\n")
    own = [(origin.index(v.line) + 1, v.rule) for v in check_file(module)]  # the module's own, if any: where they move
    planted = [(new.index(line) + 1, rule) for line, rule in [
        ("    def planted_call = planted_flag('x')", "closure-call"),
        ("    def planted_it = ['x'].collect { it.toUpperCase() }", "implicit-it"),
        ("    echo $HOME", "implicit-env"),
    ]]
    assert sorted((v.line, v.rule) for v in check_file(copy)) == sorted(own + planted)
