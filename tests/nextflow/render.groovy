// Evaluate Groovy as Nextflow would, for tests/test_nextflow.py: the statements of a process's script: block, a
// GString, a config closure, or a pipeline function called on test values.
// stdin: a JSON list of {"code": <Groovy>, "binding": {<name>: <value>}, "paths": [<binding names that are files>]};
// a file is a string, several files a list (Nextflow's staged-file lists), and they become java.nio Paths.
// stdout: a JSON list of each result's text, or {"error": <message>} where the code raised one.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.nio.file.FileSystems
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths

// the Path methods Nextflow adds (nextflow.file.FilesEx), as Nextflow defines them
ExpandoMetaClass.enableGlobally()
Path.metaClass.getName = { -> delegate.fileName.toString() }
Path.metaClass.exists = { -> Files.exists(delegate) }
Path.metaClass.toUriString = { -> delegate.fileSystem == FileSystems.default ? delegate.toString() : delegate.toUri().toString() }

// Nextflow's file() for what the tests give it (local paths, jar: URIs of zip files) and error()
def file = { Object path, Map options = [:] ->
    def text = path.toString()
    def result = text.startsWith('jar:') ? jarPath(text) : Paths.get(text)
    if (options.checkIfExists && !Files.exists(result)) {
        throw new IllegalArgumentException("No such file: ${text}")
    }
    return result
}
def error = { String message -> throw new IllegalStateException(message) }

def requests = new JsonSlurper().parse(System.in)
def rendered = requests.collect { request ->
    def binding = new Binding(request.binding + [file: file, error: error])
    (request.paths ?: []).each { name ->
        def value = binding.getVariable(name)
        binding.setVariable(name, value instanceof List ? value.collect { item -> Paths.get(item) } : (value ? Paths.get(value) : value))
    }
    try {
        return new GroovyShell(binding).evaluate(request.code).toString()
    } catch (IllegalStateException raised) {
        return [error: raised.message]
    }
}
println JsonOutput.toJson(rendered)

static Path jarPath(String uri) {
    def archive = new URI(uri)
    try {
        return Paths.get(archive)
    } catch (java.nio.file.FileSystemNotFoundException ignored) {
        return FileSystems.newFileSystem(archive, [:]).provider().getPath(archive)
    }
}
