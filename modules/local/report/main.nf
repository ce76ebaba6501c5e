process REPORT {
    tag "${meta.id}"
    label 'process_single'
    container 'pygenome/pygenome:0.1.0'

    input:
    // qcs, evaluations and classes may be empty lists; models: every model folder used (trained, or the one given);
    // survey: the survey task's files (its tables, summary and figures folder); classes: the classify tasks' summaries
    tuple val(meta), path(qcs, stageAs: 'label/*'), path(models, stageAs: 'train/*'), path(evaluations, stageAs: 'evaluate/*'), path(motifs, stageAs: 'motifs/*'), path(survey, stageAs: 'survey/*'), path(classes, stageAs: 'classify/*')

    output:
    tuple val(meta), path("${prefix}.html"), emit: report
    tuple val("${task.process}"), val('pygenome'), eval('pygenome --version | sed "s/^pygenome //"'), emit: versions_pygenome, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: 'report'
    // the motifs step's prefix, from the name of its heads table
    def heads = [motifs].flatten().find { file -> file.name.endsWith('.heads.tsv') }
    def motifs_prefix = heads.name.replaceAll(/\.heads\.tsv$/, '')
    // the survey step's, from the name of its wide table (<prefix>.tsv, beside <prefix>.motifs.tsv)
    def names = [survey].flatten().collect { file -> file.name }
    def table = names.find { name -> name.endsWith('.tsv') && name.replaceAll(/\.tsv$/, '.motifs.tsv') in names }
    def survey_prefix = table.replaceAll(/\.tsv$/, '')
    // no label QC without labelled genomes, no evaluation without a model that predicts one
    def label_qc = qcs ? "--label-qc ${[qcs].flatten().join(' ')}" : ''
    def evaluation = evaluations ? "--evaluation ${[evaluations].flatten().join(' ')}" : ''
    def classified = classes ? "--classes ${[classes].flatten().join(' ')}" : ''
    """
    pygenome report --outdir . --prefix ${prefix} ${args} ${label_qc} --model ${[models].flatten().join(' ')} \\
        ${evaluation} --motifs motifs --motifs-prefix ${motifs_prefix} --survey survey --survey-prefix ${survey_prefix} \\
        ${classified}
    """

    stub:
    prefix = task.ext.prefix ?: 'report'
    """
    touch ${prefix}.html
    """
}
