process EVALUATE {
    tag "${meta.id}"
    label 'process_medium'
    container "${params.container_cpu}"

    input:
    tuple val(meta), path(model, stageAs: 'model/*'), path(predictions), path(labels), path(baselines)

    output:
    tuple val(meta), path("${meta.id}"), emit: evaluation
    path "versions.yml"                , emit: versions

    script:
    def words = { files -> [files].flatten().join(' ') }  // one file or several, blank-separated
    def baseline = baselines ? "--baseline ${words(baselines)}" : ''
    """
    pygenome evaluate --model ${model} --predictions ${words(predictions)} --labels ${words(labels)} ${baseline} \\
        --outdir ${meta.id}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: \$(pygenome --version | sed "s/^pygenome //")
    END_VERSIONS
    """

    stub:
    """
    mkdir ${meta.id}
    touch ${meta.id}/evaluation.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: stub
    END_VERSIONS
    """
}
