/*
 * The pipeline's steps: LABEL (per labelled genome) → TRAIN (per model trained; GPUs) → PREDICT (per genome × contig)
 * → BASELINE (per labelled genome) → EVALUATE (per model that predicts a labelled genome) → CLASSIFY (per annotated
 * genome: its predicted sites, and its labels) → MOTIFS (every genome) → SURVEY (every genome) → REPORT.
 *
 * Every process is one `pygenome <step>` call, the command `pygenome run` plans for the same task
 * (pygenome/pipeline/plan.py), into the same output layout (conf/modules.config). Which model predicts each genome is
 * plan.py's models(), in withModels() below. Genomes keep their samplesheet order, contigs their FASTA order, models
 * the plan's order, wherever several are gathered.
 */

include { LABEL    } from '../modules/local/label'
include { TRAIN    } from '../modules/local/train'
include { PREDICT  } from '../modules/local/predict'
include { BASELINE } from '../modules/local/baseline'
include { EVALUATE } from '../modules/local/evaluate'
include { CLASSIFY } from '../modules/local/classify'
include { MOTIFS   } from '../modules/local/motifs'
include { SURVEY   } from '../modules/local/survey'
include { REPORT   } from '../modules/local/report'

workflow PYGENOME {
    take:
    samples      // [meta (id, topology, index), fasta, bam, bam index, control bam, control index, sites, annotation];
                 // [] where a row has none
    model        // a model folder that predicts every genome (nothing is trained), or []
    model_scope  // without a model: 'per_genome', 'joint' or 'leave_one_out' (see withModels)
    baseline     // true: the sigma70 -10 box scan, evaluated beside each model
    databases    // known-motif files (a list, may be empty)
    decoy        // a decoy motif file, or []
    checkpoints  // a folder every task sees, where a retried TRAIN resumes from its checkpoints; or ''

    main:
    // each genome's meta gains model (the model that predicts it), labelled, and training (the models trained on it)
    genomes = samples.toList().flatMap { rows -> withModels(rows, model_scope, model ? model.name : '') }

    // label: one task per genome with something to label from (bam or sites)
    LABEL(genomes.filter { row -> row[0].labelled }.map { row -> row.take(7) })
    fastas = genomes.map { row -> [row[0].id, row[0], row[1]] }
    labelled = fastas
        .filter { id, meta, fasta -> meta.labelled }
        .join(LABEL.out.labels.map { meta, labels -> [meta.id, labels] })  // [id, meta, fasta, labels]

    // train: one task per model trained, its genomes in samplesheet order
    TRAIN(
        labelled
            .flatMap { id, meta, fasta, labels -> meta.training.collect { name, order -> [name, order, [meta.index, id, fasta, labels]] } }
            .groupTuple()
            .map { name, orders, members -> trainingInput(name, orders[0], members) },
        checkpoints)
    // the models: trained, or the one given
    models = (model ? channel.of([[id: model.name, index: 0], model]) : TRAIN.out.model)
        .map { meta, folder -> [meta.id, meta, folder] }

    // predict: one task per genome × contig (names and file-name keys from the FASTA's headers), attention at the
    // labelled sites, or at the predicted ones for a genome without labels
    contigs = fastas.flatMap { id, meta, fasta -> contigsOf(meta, fasta) }  // [id, name, key, index]
    PREDICT(
        labelled
            .mix(fastas.filter { id, meta, fasta -> !meta.labelled }.map { id, meta, fasta -> [id, meta, fasta, []] })
            .combine(contigs, by: 0)
            .map { id, meta, fasta, labels, name, key, index ->
                [meta.model, meta + [contig: name, contig_key: key, contig_index: index], fasta, labels]
            }
            .combine(models, by: 0)
            .map { model_id, meta, fasta, labels, model_meta, folder -> [meta, folder, fasta, labels] })

    // the -10 box scan of each labelled genome, evaluated beside its model
    BASELINE(baseline ? fastas.filter { id, meta, fasta -> meta.labelled }.map { id, meta, fasta -> [meta, fasta] } : channel.empty())

    // evaluate: one task per model that predicts a labelled genome, over every contig of those genomes
    evaluated = models
        .join(byModel(PREDICT.out.scores.filter { meta, scores -> meta.labelled }))
        .join(byModel(LABEL.out.labels))
    evaluated = baseline ? evaluated.join(byModel(BASELINE.out.scores)) : evaluated.map { row -> row + [[]] }
    EVALUATE(evaluated.map { model_id, meta, folder, predictions, labels, scans -> [meta, folder, predictions, labels, scans] })

    // classify: each annotated genome's predicted sites (against its labels, where it has them), and its labels
    annotated = genomes.filter { row -> row[7] }.map { row -> [row[0].id, row[0], row[1], row[7]] }
    predicted = PREDICT.out.sites
        .map { meta, bed -> [meta.id, [meta.contig_index, bed]] }
        .groupTuple()
        .map { id, entries -> [id, entries.sort(false) { a, b -> a[0] <=> b[0] }.collect { entry -> entry[1] }] }
    classified = annotated.join(predicted)  // [id, meta, fasta, annotation, predicted BEDs]
    CLASSIFY(
        classified.filter { id, meta, fasta, annotation, beds -> meta.labelled }
            .join(LABEL.out.labels.map { meta, labels -> [meta.id, labels] })
            .flatMap { id, meta, fasta, annotation, beds, labels ->
                [[meta + [sites: 'predicted'], fasta, annotation, beds, labels],
                 [meta + [sites: 'known'], fasta, annotation, [labels], []]]
            }
            .mix(classified.filter { id, meta, fasta, annotation, beds -> !meta.labelled }
                .map { id, meta, fasta, annotation, beds -> [meta + [sites: 'predicted'], fasta, annotation, beds, []] }))
    // the classify summaries as the plan lists them: genomes in samplesheet order, predicted before known
    classes = CLASSIFY.out.summary
        .toSortedList { a, b -> a[0].index <=> b[0].index ?: b[0].sites <=> a[0].sites }
        .map { sorted -> sorted.collect { entry -> entry[1] } }

    // motifs: every genome's attention, in one task
    every_genome = fastas.toSortedList { a, b -> a[1].index <=> b[1].index }
    MOTIFS(
        every_genome.map { entries -> [entries] }
            .combine(inContigOrder(PREDICT.out.attention).map { entries -> [entries] })
            .map { entries, files -> everyGenomeInput(entries, files) },
        databases,
        decoy)

    // survey: every genome's predicted sites and the motifs of them all, in one task
    SURVEY(
        every_genome.map { entries -> [entries] }
            .combine(inContigOrder(PREDICT.out.sites).map { entries -> [entries] })
            .map { entries, files -> everyGenomeInput(entries, files) }
            .combine(MOTIFS.out.motifs.map { meta, files -> [files] }))
    survey = SURVEY.out.table
        .join(SURVEY.out.motifs)
        .join(SURVEY.out.summary)
        .join(SURVEY.out.figures)
        .map { meta, table, motifs, summary, figures -> [table, motifs, summary, figures] }

    // report: genomes in samplesheet order, models in the plan's order (each list may be empty but the models')
    REPORT(
        inOrder(LABEL.out.qc).map { files -> [files] }
            .combine(inOrder(models.map { id, meta, folder -> [meta, folder] }).map { files -> [files] })
            .combine(inOrder(EVALUATE.out.evaluation).map { files -> [files] })
            .combine(MOTIFS.out.motifs.map { meta, files -> [files] })
            .combine(survey.map { files -> [files] })
            .combine(classes.map { files -> [files] })
            .map { qcs, folders, evaluations, motifs, surveyed, classified -> [[id: 'report'], qcs, folders, evaluations, motifs, surveyed, classified] })

    emit:
    report = REPORT.out.report
}

// Which model predicts each genome, and the genomes each trained model learns from: pygenome/pipeline/plan.py's
// models(), for the rows of the samplesheet. With a given model (its folder's name) it predicts every genome and
// nothing is trained. Else, for the genomes with labels (bam or sites), by model_scope: a model per genome
// ('per_genome'), one model of them all ('joint'), or for each genome one trained on all the others ('leave_one_out':
// 'without_<id>'). A genome without labels is predicted by the joint model of the labelled genomes: the only trained
// model when there is one (per_genome, joint), else an extra model 'joint'. Each row's meta gains model, labelled, and
// training: [name, order] of each model trained on it (order: the model's place in the plan, as the report lists them)
def withModels(rows, model_scope, given) {
    def ids = rows.collect { row -> row[0].id }
    def labelled = rows.findAll { row -> row[2] || row[6] }.collect { row -> row[0].id }
    def trained = [:]  // name → the ids of its genomes, in the plan's order
    def chosen = [:]   // id → the name of the model that predicts it
    if (given) {
        chosen = ids.collectEntries { id -> [id, given] }
    } else if (!labelled) {
        error("no genome of the samplesheet has anything to label from (bam or sites), so no model can be trained; give a model to predict them with (--model: a model folder, or a bundled model's name, e.g. ecoli-cpu)")
    } else if (model_scope == 'leave_one_out') {
        if (labelled.size() < 2) {
            error("model_scope leave_one_out needs at least 2 labelled genomes (each model is trained on the others), not ${labelled.size()}")
        }
        trained = labelled.collectEntries { id -> ["without_${id}".toString(), labelled.findAll { other -> other != id }] }
        chosen = labelled.collectEntries { id -> [id, "without_${id}".toString()] }
    } else if (model_scope == 'joint') {
        trained = [joint: labelled]
        chosen = labelled.collectEntries { id -> [id, 'joint'] }
    } else {
        trained = labelled.collectEntries { id -> [id, [id]] }
        chosen = labelled.collectEntries { id -> [id, id] }
    }
    if (chosen.size() < ids.size()) {  // genomes without labels: the joint model (the only one, when there is one)
        def joint = trained.size() == 1 && model_scope != 'leave_one_out' ? trained.keySet().first() : 'joint'
        trained = trained + [(joint): labelled]
        chosen = chosen + ids.findAll { id -> !(id in labelled) }.collectEntries { id -> [id, joint] }
    }
    def names = trained.keySet().toList()
    return rows.collect { row ->
        def id = row[0].id
        def training = names.findAll { name -> id in trained[name] }.collect { name -> [name, names.indexOf(name)] }
        [row[0] + [model: chosen[id], labelled: id in labelled, training: training]] + row.drop(1)
    }
}

// A model's training input: its genomes in samplesheet order; its meta's index is its place in the plan
def trainingInput(model, order, members) {
    def sorted = members.sort(false) { a, b -> a[0] <=> b[0] }
    return [[id: model, index: order], sorted.collect { member -> member[1] },
            sorted.collect { member -> member[2] }, sorted.collect { member -> member[3] }]
}

// Each contig of a genome, in FASTA order: [id, name, file-name key, index]. The names are read from the FASTA's
// headers here, for genomes with labels and without alike (a label-free genome has no label QC to read them from)
def contigsOf(meta, fasta) {
    def names = fastaNames(fasta)
    return [names, fileKeys(names)].transpose().withIndex().collect { pair, index -> [meta.id, pair[0], pair[1], index] }
}

// The record names of a FASTA (plain, gzip or bgzip; detected by content, as pysam does), in order: each header's
// first word, up to the first whitespace, as pygenome.io.genome.read_genome reads them (pysam). The file is read
// whole, then decompressed from memory: GZIPInputStream reads every member of a bgzip file only when the stream
// tells how much is left (a remote stream may not)
def fastaNames(fasta) {
    def bytes = fasta.bytes
    def gzipped = bytes.length > 1 && bytes[0] == 0x1f && (bytes[1] & 0xff) == 0x8b
    def input = new java.io.ByteArrayInputStream(bytes)
    def names = []
    (gzipped ? new java.util.zip.GZIPInputStream(input, 65536) : input).newReader('UTF-8').eachLine { line ->
        if (line.startsWith('>')) {
            names.add(line.substring(1).split(/\s/, 2)[0])
        }
    }
    return names
}

// Each name's file-name part, in order: pygenome.io.layout.file_keys (held equal by tests/test_nextflow.py). Letters,
// digits and _.- are kept, any other character becomes _; then _2, _3… after a key already taken, also apart on
// case-insensitive file systems (`ctg|1` after `ctg_1` is `ctg_1_2`)
def fileKeys(names) {
    def taken = [:]
    return names.collect { name ->
        def safe = name.replaceAll(/[^A-Za-z0-9_.-]/, '_')
        def number = (1..(taken.size() + 1)).find { n -> !taken.containsKey(numbered(safe, n).toLowerCase(java.util.Locale.ROOT)) }
        def key = numbered(safe, number)
        taken.put(key.toLowerCase(java.util.Locale.ROOT), true)
        return key
    }
}

def numbered(key, number) {
    return number == 1 ? key : "${key}_${number}".toString()
}

// A channel of [meta, file] as [model, files]: each model's files, genomes in samplesheet order, contigs in order
def byModel(entries) {
    return entries
        .map { meta, file -> [meta.model, [meta.index, meta.contig_index ?: 0], file] }
        .groupTuple()
        .map { model, keys, files -> [model, [keys, files].transpose().sort(false) { a, b -> compareKeys(a[0], b[0]) }.collect { pair -> pair[1] }] }
}

// The files of a channel of [meta, file], in the order of meta.index, as one list (empty for an empty channel)
def inOrder(entries) {
    return entries
        .toSortedList { a, b -> a[0].index <=> b[0].index }
        .map { sorted -> sorted.collect { entry -> entry[1] } }
}

// A channel of [meta, file] of every genome × contig as one list of [[genome index, contig index], id, file], in order
def inContigOrder(entries) {
    return entries
        .map { meta, file -> [[meta.index, meta.contig_index], meta.id, file] }
        .toSortedList { a, b -> compareKeys(a[0], b[0]) }
}

// The input of the motifs and survey tasks: each genome's id and FASTA, the files of its contigs (from inContigOrder:
// attention, predicted sites) and how many are each genome's
def everyGenomeInput(genomes, files) {
    def ids = genomes.collect { entry -> entry[0] }
    return [[id: 'survey'], ids, genomes.collect { entry -> entry[2] }, files.collect { entry -> entry[2] },
            ids.collect { id -> files.count { entry -> entry[1] == id } }]
}

// [genome index, contig index] keys in order
def compareKeys(a, b) {
    return a[0] <=> b[0] ?: a[1] <=> b[1]
}
