process PREDICT {
    tag "${meta.id}:${meta.contig}"
    label 'process_gpu'
    container "${task.accelerator ? params.container_gpu : params.container_cpu}"

    input:
    tuple val(meta), path(model, stageAs: 'model/*'), path(fasta), path(labels)

    output:
    tuple val(meta), path("${meta.prefix}.scores.track.npz"), emit: scores
    tuple val(meta), path("${meta.prefix}.predicted.bed")   , emit: sites
    tuple val(meta), path("${meta.prefix}.attention.npz")   , emit: attention
    tuple val(meta), path("${meta.prefix}.scores.*.bw")     , emit: bigwig
    path "versions.yml"                                     , emit: versions

    script:
    """
    pygenome predict --model ${model} --fasta ${fasta} --topology ${meta.topology} --contig '${meta.contig}' \\
        --outdir . --prefix ${meta.prefix} --attention-sites ${labels} --threads ${task.cpus} --quiet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: \$(pygenome --version | sed "s/^pygenome //")
    END_VERSIONS
    """

    stub:
    """
    touch ${meta.prefix}.scores.track.npz ${meta.prefix}.predicted.bed ${meta.prefix}.attention.npz
    touch ${meta.prefix}.scores.plus.bw ${meta.prefix}.scores.minus.bw

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: stub
    END_VERSIONS
    """
}
