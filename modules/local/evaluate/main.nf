process EVALUATE {
    tag "${meta.id}"
    label 'process_medium'
    container 'pygenome/pygenome:0.1.0'

    input:
    tuple val(meta), path(model, stageAs: 'model/*'), path(predictions, stageAs: 'predictions/*'), path(labels, stageAs: 'labels/*'), path(baselines, stageAs: 'baselines/*')

    output:
    tuple val(meta), path("${prefix}"), emit: evaluation
    tuple val("${task.process}"), val('pygenome'), eval('pygenome --version | sed "s/^pygenome //"'), emit: versions_pygenome, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    // held out: the test regions of the genomes the model was trained on, every position of the others
    def baseline = baselines ? "--baseline ${[baselines].flatten().join(' ')}" : ''
    """
    pygenome evaluate --model ${model} --predictions ${[predictions].flatten().join(' ')} \\
        --labels ${[labels].flatten().join(' ')} ${baseline} --held-out auto ${args} --outdir ${prefix}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir ${prefix}
    touch ${prefix}/evaluation.json
    """
}
