/*
 * What the pipeline does before and after its steps: validate the parameters and the samplesheet (paths resolved
 * against the sheet's own folder, on any file system), collect the software versions, summarise the run.
 */

include { validateParameters; paramsSummaryLog; samplesheetToList } from 'plugin/nf-schema'

workflow PIPELINE_INITIALISATION {
    take:
    input  // the samplesheet: a path or URI (s3://, gs://, https://…)

    main:
    validateParameters()
    log.info(paramsSummaryLog(workflow))
    samples = channel.fromList(readSamplesheet(input, "${projectDir}/assets/schema_input.json"))

    emit:
    samples  // [meta (id, topology, index), fasta, bam, bam index, control bam, control index, sites, annotation]; [] if none
}

workflow PIPELINE_COMPLETION {
    take:
    outdir

    main:
    // every process's tools and versions (the `versions` topic), one YAML file
    channel.topic('versions')
        .map { process, tool, version -> [process.tokenize(':').last(), tool, version] }
        .unique()
        .groupTuple()
        .map { process, tools, versions -> versionsYaml(process, tools, versions) }
        .mix(channel.of("Workflow:\n    pygenome: ${workflow.manifest.version}\n    Nextflow: ${nextflow.version}"))
        .collectFile(storeDir: "${outdir}/pipeline_info", name: 'pygenome_software_versions.yml', sort: true, newLine: true)
}

// The rows of a samplesheet: nf-schema checks each row's values against the schema, then each file is resolved (a
// relative path from the samplesheet's folder, as `pygenome run` reads it) and must exist; alignments need an index
def readSamplesheet(input, schema) {
    def sheet = file(input, checkIfExists: true)
    return samplesheetToList(sheet, schema).withIndex().collect { row, index -> resolvedRow(sheet, row, index) }
}

def resolvedRow(sheet, row, index) {
    def meta = row[0]
    def line = index + 2  // the row's line in the CSV, after its header
    def fasta = resolvedFile(sheet, row[1], line, 'fasta')
    def bam = resolvedFile(sheet, row[2], line, 'bam')
    def control = resolvedFile(sheet, row[3], line, 'control_bam')
    def sites = resolvedFile(sheet, row[4], line, 'sites')
    def annotation = resolvedFile(sheet, row[5], line, 'annotation')
    return [meta + [topology: meta.topology ?: 'auto', index: index], fasta, bam, indexOf(bam, sheet, line, 'bam'),
            control, indexOf(control, sheet, line, 'control_bam'), sites, annotation]
}

// A samplesheet cell as a file: a URI or an absolute path as it is, a relative path from the sheet's folder (on the
// sheet's own file system, so a relative path in an s3:// sheet stays on S3); [] for an empty cell
def resolvedFile(sheet, value, line, column) {
    if (!value) {
        return []
    }
    def text = value.toString()
    def path = text ==~ /^[A-Za-z][A-Za-z0-9+.-]*:\/\/.*/ || text.startsWith('/') ? file(text) : sheet.resolveSibling(text)
    if (!path.exists()) {
        error("${sheet.toUriString()}: row ${line}, column '${column}': ${text} not found (relative paths are read from ${sheet.parent.toUriString()})")
    }
    return path
}

// The index of a BAM or CRAM, where `pygenome label` finds it: x.bam.bai, x.bai, x.bam.csi, x.csi; x.cram.crai, x.crai
def indexOf(alignments, sheet, line, column) {
    if (!alignments) {
        return []
    }
    def name = alignments.name
    def stem = name.replaceAll(/\.(bam|cram)$/, '')
    def names = name.endsWith('.cram') ? [name + '.crai', stem + '.crai'] : [name + '.bai', stem + '.bai', name + '.csi', stem + '.csi']
    def found = names.collect { candidate -> alignments.resolveSibling(candidate) }.find { candidate -> candidate.exists() }
    if (!found) {
        error("${sheet.toUriString()}: row ${line}, column '${column}': ${alignments.toUriString()} has no index (looked for ${names.join(', ')} beside it); create one with `samtools index ${name}`")
    }
    return found
}

// One process's block of the versions YAML
def versionsYaml(process, tools, versions) {
    def lines = [tools, versions].transpose().collect { tool, version -> "    ${tool}: ${version}" }
    return "${process}:\n" + lines.sort().join('\n')
}

// The known-motif databases of --databases (comma-separated), each a file that must exist
def motifDatabases(databases) {
    return databases ? databases.tokenize(',').collect { path -> file(path.trim(), checkIfExists: true) } : []
}

// The model of --model, which predicts every genome (and then nothing is trained): a model folder (a path or URI),
// else the name of a model bundled with the package, pygenome/data/models/<name> in the pipeline's own folder (as
// pygenome.io.model_store.model_folder finds it); [] without one
def modelFolder(model, project_dir) {
    if (!model) {
        return []
    }
    def folder = file(model.toString())
    if (java.nio.file.Files.isDirectory(folder)) {
        return folder
    }
    def bundled = file("${project_dir}/pygenome/data/models")
    def names = java.nio.file.Files.isDirectory(bundled) ? bundled.toFile().list().findAll { name -> bundled.resolve(name).resolve('config.json').exists() }.sort() : []
    if (model.toString() in names) {
        return bundled.resolve(model.toString())
    }
    error("--model ${model}: neither a model folder nor the name of a bundled model (${names ? names.join(', ') : 'none is bundled'}); give the folder `pygenome train` wrote (it holds config.json and model.safetensors)")
}

// Where training keeps its checkpoints between attempts, so that a retried TRAIN resumes: beside the work directory
// when that is a file system every task sees (local, Slurm), made now so that a container can mount it; '' on an
// object store (a retry then starts afresh)
def checkpointFolder(work_dir, session) {
    if (work_dir.toUri().scheme != 'file') {
        return ''
    }
    def folder = work_dir.resolve("pygenome-checkpoints/${session}")
    folder.mkdirs()
    return folder.toString()
}

// The closing lines of a run
def completionSummary(run, outdir) {
    if (!run.success) {
        return "pygenome: the run failed (${run.errorMessage ?: 'see .nextflow.log'}); fix the cause and rerun with -resume"
    }
    return "pygenome: done in ${run.duration}; the report is ${outdir}/report.html, software versions in ${outdir}/pipeline_info/pygenome_software_versions.yml"
}
