// Render the script: blocks of Nextflow processes as Nextflow does, for tests/test_nextflow.py.
// stdin: a JSON list of {"code": <the statements of a script: block>, "binding": {<name>: <value>}}; a list of
// files is a list (as Nextflow's staged-file lists are), one file a string.
// stdout: a JSON list of the rendered scripts.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

def requests = new JsonSlurper().parse(System.in)
def rendered = requests.collect { request ->
    new GroovyShell(new Binding(request.binding)).evaluate(request.code).toString()
}
println JsonOutput.toJson(rendered)
