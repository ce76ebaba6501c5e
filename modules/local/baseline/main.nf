process BASELINE {
    tag "${meta.id}"
    label 'process_single'
    container 'pygenome/pygenome:0.1.0'

    input:
    tuple val(meta), path(fasta, stageAs: 'genome/*')

    output:
    tuple val(meta), path("${prefix}.scores.track.npz"), emit: scores
    tuple val("${task.process}"), val('pygenome'), eval('pygenome --version | sed "s/^pygenome //"'), emit: versions_pygenome, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    pygenome baseline --fasta ${fasta} --topology ${meta.topology} ${args} --outdir . --prefix ${prefix}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.scores.track.npz
    """
}
