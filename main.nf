#!/usr/bin/env nextflow
/*
 * pygenome: learn where things happen in prokaryotic genomes, and explain why.
 *
 * samplesheet → LABEL (per genome) → TRAIN (per model: per genome, or one joint model; GPUs) → PREDICT (per genome ×
 * contig) → BASELINE (per genome) → EVALUATE (per model) → MOTIFS (every genome) → REPORT.
 *
 * Every process is one `pygenome <step>` call; the same command lines, and the same output layout under
 * --outdir, as `pygenome run` (pygenome/pipeline.py). Docs: README.md, docs/nextflow.md.
 */
nextflow.enable.dsl = 2

include { validateParameters; samplesheetToList } from 'plugin/nf-schema'
include { LABEL    } from './modules/local/label'
include { TRAIN    } from './modules/local/train'
include { PREDICT  } from './modules/local/predict'
include { BASELINE } from './modules/local/baseline'
include { EVALUATE } from './modules/local/evaluate'
include { MOTIFS   } from './modules/local/motifs'
include { REPORT   } from './modules/local/report'

// A contig name as a file-name part, as pygenome.pipeline.safe_name writes it
def safeName(name) {
    return name.replaceAll(/[^A-Za-z0-9_.-]/, '_')
}

// The samplesheet with its relative paths made absolute against its own folder (as `pygenome run` reads them), so
// that nf-schema checks the files where the sheet means them
def resolvedSamplesheet(path) {
    def sheet = file(path, checkIfExists: true)
    def lines = sheet.readLines().findAll { it.trim() }
    def header = lines[0].split(',', -1) as List
    def fileColumns = ['fasta', 'bam', 'control_bam', 'sites']
    def rows = lines.drop(1).collect { line ->
        def cells = line.split(',', -1) as List
        [cells, (0..<cells.size())].transpose().collect { cell, i ->
            header[i] in fileColumns && cell && !(cell ==~ /^(\/|[a-z]+:\/\/).*/) ? sheet.parent.resolve(cell).toString() : cell
        }.join(',')
    }
    def resolved = file("${workflow.workDir}/pygenome/${workflow.sessionId}.samplesheet.csv")
    resolved.parent.mkdirs()
    resolved.text = ([lines[0]] + rows).join('\n') + '\n'
    return resolved
}

def indexOf(alignments) {
    return alignments ? file("${alignments}${alignments.name.endsWith('.cram') ? '.crai' : '.bai'}", checkIfExists: true) : []
}

workflow {
    validateParameters()

    def rows = samplesheetToList(resolvedSamplesheet(params.input), "${projectDir}/assets/schema_input.json")
    def order = rows.withIndex().collectEntries { row, index -> [(row[0].id): index] }
    def modelOf = { id -> params.model_scope == 'joint' ? 'joint' : id }
    samples = Channel.fromList(rows).map { meta, fasta, bam, control_bam, sites ->
        [meta + [topology: meta.topology ?: 'auto', model: modelOf(meta.id)], fasta, bam, control_bam, sites]
    }

    // label: one task per genome
    LABEL(samples.map { meta, fasta, bam, control_bam, sites ->
        [meta, fasta, bam ?: [], indexOf(bam), control_bam ?: [], indexOf(control_bam), sites ?: []]
    })
    fastas = samples.map { meta, fasta, bam, control_bam, sites -> [meta.id, meta, fasta] }
    labelled = fastas.join(LABEL.out.labels.map { meta, labels -> [meta.id, labels] })  // [id, meta, fasta, labels]

    // train: one task per model, its genomes in samplesheet order
    TRAIN(labelled
        .map { id, meta, fasta, labels -> [meta.model, [order[id], id, fasta, labels]] }
        .groupTuple()
        .map { model, members ->
            members = members.sort { it[0] }
            [[id: model], members.collect { it[1] }, members.collect { it[2] }, members.collect { it[3] }]
        })

    // predict: one task per genome × contig (contig names from the label step's QC)
    contigs = LABEL.out.qc.flatMap { meta, qc ->
        new groovy.json.JsonSlurper().parseText(qc.text).genome.contigs.withIndex().collect { contig, index ->
            [meta.id, contig.name, index]
        }
    }
    models = TRAIN.out.model.map { meta, model -> [meta.id, model] }
    PREDICT(labelled
        .combine(contigs, by: 0)  // [id, meta, fasta, labels, contig, index]
        .map { id, meta, fasta, labels, contig, index -> [meta.model, meta, fasta, labels, contig, index] }
        .combine(models, by: 0)
        .map { model_id, meta, fasta, labels, contig, index, model ->
            [meta + [contig: contig, contig_index: index, prefix: "${meta.id}.${safeName(contig)}"], model, fasta, labels]
        })

    // the -10 box scan, evaluated beside the model
    BASELINE(params.baseline ? fastas.map { id, meta, fasta -> [meta, fasta] } : Channel.empty())

    // evaluate: one task per model, over every contig of its genomes
    def byModel = { channel -> channel.map { meta, file -> [meta.model, [order[meta.id], meta.contig_index ?: 0], file] } }
    def sortedFiles = { members -> members.sort { a, b -> a[0][0] <=> b[0][0] ?: a[0][1] <=> b[0][1] }.collect { it[1] } }
    scores = byModel(PREDICT.out.scores).groupTuple().map { model, keys, files -> [model, sortedFiles([keys, files].transpose())] }
    labelsByModel = byModel(LABEL.out.labels).groupTuple().map { model, keys, files -> [model, sortedFiles([keys, files].transpose())] }
    baselines = params.baseline
        ? byModel(BASELINE.out.scores).groupTuple().map { model, keys, files -> [model, sortedFiles([keys, files].transpose())] }
        : labelsByModel.map { model, files -> [model, []] }
    EVALUATE(models.join(scores).join(labelsByModel).join(baselines)
        .map { model_id, model, predictions, labels, scans -> [[id: model_id], model, predictions, labels, scans] })

    // motifs: every genome's attention, genomes in samplesheet order, each genome's contigs in FASTA order
    attention = PREDICT.out.attention
        .map { meta, file -> [[order[meta.id], meta.contig_index], meta.id, file] }
        .toSortedList { a, b -> a[0][0] <=> b[0][0] ?: a[0][1] <=> b[0][1] }
    genomes = fastas.toSortedList { a, b -> order[a[0]] <=> order[b[0]] }
    databases = params.databases ? params.databases.split(',').collect { file(it, checkIfExists: true) } : []
    decoy = params.decoy ? file(params.decoy, checkIfExists: true) : []
    MOTIFS(genomes.map { it.collect { id, meta, fasta -> id } }, genomes.map { it.collect { id, meta, fasta -> fasta } },
        attention.map { it.collect { key, id, file -> file } },
        genomes.map { [it] }.combine(attention.map { [it] })
            .map { members, files -> members.collect { id, meta, fasta -> files.count { it[1] == id } } },
        databases, decoy, 'survey')

    // report
    // report: genomes and models in samplesheet order (a joint model is the only one)
    def inOrder = { channel -> channel.toSortedList { a, b -> (order[a[0].id] ?: 0) <=> (order[b[0].id] ?: 0) }.map { it.collect { it[1] } } }
    REPORT(inOrder(LABEL.out.qc), inOrder(TRAIN.out.model), inOrder(EVALUATE.out.evaluation), MOTIFS.out.motifs, 'survey')
}
