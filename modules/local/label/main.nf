process LABEL {
    tag "${meta.id}"
    label 'process_medium'
    container "${params.container_cpu}"

    input:
    tuple val(meta), path(fasta), path(bam), path(bam_index), path(control_bam), path(control_index), path(sites)

    output:
    tuple val(meta), path("${meta.id}.labels.track.npz"), emit: labels
    tuple val(meta), path("${meta.id}.sites.bed")       , emit: sites
    tuple val(meta), path("${meta.id}.qc.json")         , emit: qc
    tuple val(meta), path("${meta.id}.signal.track.npz"), emit: signal, optional: true
    path "versions.yml"                                 , emit: versions

    script:
    def alignments = bam ? "--bam ${bam}" : ''
    def control = control_bam ? "--control-bam ${control_bam}" : ''
    def known = sites ? "--sites ${sites}" : ''
    """
    pygenome label --fasta ${fasta} --topology ${meta.topology} ${alignments} ${control} ${known} \\
        --outdir . --prefix ${meta.id} --threads ${task.cpus} --quiet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: \$(pygenome --version | sed "s/^pygenome //")
    END_VERSIONS
    """

    stub:
    """
    touch ${meta.id}.labels.track.npz ${meta.id}.sites.bed
    echo '{"genome": {"contigs": [{"name": "stub"}]}}' > ${meta.id}.qc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: stub
    END_VERSIONS
    """
}
