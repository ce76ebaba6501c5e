process BASELINE {
    tag "${meta.id}"
    label 'process_single'
    container "${params.container_cpu}"

    input:
    tuple val(meta), path(fasta)

    output:
    tuple val(meta), path("${meta.id}.scores.track.npz"), emit: scores
    path "versions.yml"                                 , emit: versions

    script:
    """
    pygenome baseline --fasta ${fasta} --topology ${meta.topology} --outdir . --prefix ${meta.id}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: \$(pygenome --version | sed "s/^pygenome //")
    END_VERSIONS
    """

    stub:
    """
    touch ${meta.id}.scores.track.npz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: stub
    END_VERSIONS
    """
}
