/*
 * The pipeline's steps: LABEL (per genome) → TRAIN (per model: per genome, or one joint model; GPUs) → PREDICT (per
 * genome × contig) → BASELINE (per genome) → EVALUATE (per model) → MOTIFS (every genome) → REPORT.
 *
 * Every process is one `pygenome <step>` call, the command `pygenome run` plans for the same task
 * (pygenome/pipeline/plan.py), into the same output layout (conf/modules.config). Genomes keep their samplesheet order,
 * contigs their FASTA order, wherever several are gathered.
 */

include { LABEL    } from '../modules/local/label'
include { TRAIN    } from '../modules/local/train'
include { PREDICT  } from '../modules/local/predict'
include { BASELINE } from '../modules/local/baseline'
include { EVALUATE } from '../modules/local/evaluate'
include { MOTIFS   } from '../modules/local/motifs'
include { REPORT   } from '../modules/local/report'

workflow PYGENOME {
    take:
    samples      // [meta (id, topology, index), fasta, bam, bam index, control bam, control index, sites]; [] if none
    model_scope  // 'per_genome': a model per genome; 'joint': one model of every genome
    baseline     // true: the sigma70 -10 box scan, evaluated beside each model
    databases    // known-motif files (a list, may be empty)
    decoy        // a decoy motif file, or []
    checkpoints  // a folder every task sees, where a retried TRAIN resumes from its checkpoints; or ''

    main:
    genomes = samples.map { meta, fasta, bam, bam_index, control_bam, control_index, sites ->
        [meta + [model: model_scope == 'joint' ? 'joint' : meta.id], fasta, bam, bam_index, control_bam, control_index, sites]
    }

    // label: one task per genome
    LABEL(genomes)
    fastas = genomes.map { meta, fasta, bam, bam_index, control_bam, control_index, sites -> [meta.id, meta, fasta] }
    labelled = fastas.join(LABEL.out.labels.map { meta, labels -> [meta.id, labels] })  // [id, meta, fasta, labels]

    // train: one task per model, its genomes in samplesheet order
    TRAIN(
        labelled
            .map { id, meta, fasta, labels -> [meta.model, [meta.index, id, fasta, labels]] }
            .groupTuple()
            .map { model, members -> trainingInput(model, members) },
        checkpoints)
    models = TRAIN.out.model.map { meta, model -> [meta.id, meta, model] }

    // predict: one task per genome × contig (names and file-name keys from the label step's QC)
    contigs = LABEL.out.qc.flatMap { meta, qc -> contigsOf(meta, qc) }  // [id, name, key, index]
    PREDICT(
        labelled
            .combine(contigs, by: 0)
            .map { id, meta, fasta, labels, name, key, index ->
                [meta.model, meta + [contig: name, contig_key: key, contig_index: index], fasta, labels]
            }
            .combine(models, by: 0)
            .map { model_id, meta, fasta, labels, model_meta, model -> [meta, model, fasta, labels] })

    // the -10 box scan, evaluated beside the model
    BASELINE(baseline ? fastas.map { id, meta, fasta -> [meta, fasta] } : channel.empty())

    // evaluate: one task per model, over every contig of its genomes
    evaluated = models
        .join(byModel(PREDICT.out.scores))
        .join(byModel(LABEL.out.labels))
    evaluated = baseline ? evaluated.join(byModel(BASELINE.out.scores)) : evaluated.map { row -> row + [[]] }
    EVALUATE(evaluated.map { model_id, meta, model, predictions, labels, scans -> [meta, model, predictions, labels, scans] })

    // motifs: every genome's attention, in one task
    attention = PREDICT.out.attention
        .map { meta, file -> [[meta.index, meta.contig_index], meta.id, file] }
        .toSortedList { a, b -> compareKeys(a[0], b[0]) }
    every_genome = fastas.toSortedList { a, b -> a[1].index <=> b[1].index }
    MOTIFS(
        every_genome.map { entries -> [entries] }
            .combine(attention.map { entries -> [entries] })
            .map { entries, files -> motifsInput(entries, files) },
        databases,
        decoy)

    // report: genomes and models in samplesheet order
    REPORT(
        inOrder(LABEL.out.qc).map { files -> [files] }
            .combine(inOrder(TRAIN.out.model).map { files -> [files] })
            .combine(inOrder(EVALUATE.out.evaluation).map { files -> [files] })
            .combine(MOTIFS.out.motifs.map { meta, files -> [files] })
            .map { qcs, trained, evaluations, motifs -> [[id: 'report'], qcs, trained, evaluations, motifs] })

    emit:
    report = REPORT.out.report
}

// A model's training input: its genomes in samplesheet order; its meta takes the index of its first genome
def trainingInput(model, members) {
    def sorted = members.sort(false) { a, b -> a[0] <=> b[0] }
    return [[id: model, index: sorted[0][0]], sorted.collect { member -> member[1] },
            sorted.collect { member -> member[2] }, sorted.collect { member -> member[3] }]
}

// Each contig of a genome, from its label QC: [id, name, file-name key, index in the FASTA]
def contigsOf(meta, qc) {
    def contigs = new groovy.json.JsonSlurper().parseText(qc.text).genome.contigs
    return contigs.withIndex().collect { contig, index -> [meta.id, contig.name, contig.key, index] }
}

// A channel of [meta, file] as [model, files]: each model's files, genomes in samplesheet order, contigs in order
def byModel(entries) {
    return entries
        .map { meta, file -> [meta.model, [meta.index, meta.contig_index ?: 0], file] }
        .groupTuple()
        .map { model, keys, files -> [model, [keys, files].transpose().sort(false) { a, b -> compareKeys(a[0], b[0]) }.collect { pair -> pair[1] }] }
}

// The files of a channel of [meta, file], in samplesheet order, as one list
def inOrder(entries) {
    return entries
        .toSortedList { a, b -> a[0].index <=> b[0].index }
        .map { sorted -> sorted.collect { entry -> entry[1] } }
}

// The motifs task's input: each genome's id and FASTA, the attention files and how many are each genome's
def motifsInput(genomes, attention) {
    def ids = genomes.collect { entry -> entry[0] }
    return [[id: 'survey'], ids, genomes.collect { entry -> entry[2] }, attention.collect { entry -> entry[2] },
            ids.collect { id -> attention.count { entry -> entry[1] == id } }]
}

// [genome index, contig index] keys in order
def compareKeys(a, b) {
    return a[0] <=> b[0] ?: a[1] <=> b[1]
}
