process LABEL {
    tag "${meta.id}"
    label 'process_medium'
    container 'pygenome/pygenome:0.1.0'

    input:
    // each role in a folder of its own, so that inputs of the same file name never collide
    tuple val(meta), path(fasta, stageAs: 'genome/*'), path(bam, stageAs: 'treated/*'), path(bam_index, stageAs: 'treated/*'), path(control_bam, stageAs: 'control/*'), path(control_index, stageAs: 'control/*'), path(sites, stageAs: 'sites/*')

    output:
    tuple val(meta), path("${prefix}.labels.track.npz"), emit: labels
    tuple val(meta), path("${prefix}.sites.bed")       , emit: sites
    tuple val(meta), path("${prefix}.qc.json")         , emit: qc
    tuple val(meta), path("${prefix}.signal.track.npz"), emit: signal, optional: true
    tuple val(meta), path("${prefix}.bins.bed")        , emit: bins, optional: true
    tuple val("${task.process}"), val('pygenome'), eval('pygenome --version | sed "s/^pygenome //"'), emit: versions_pygenome, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def alignments = bam ? "--bam ${bam}" : ''
    def control = control_bam ? "--control-bam ${control_bam}" : ''
    def known = sites ? "--sites ${sites}" : ''
    """
    pygenome label --fasta ${fasta} --topology ${meta.topology} ${alignments} ${control} ${known} ${args} \\
        --outdir . --prefix ${prefix} --threads ${task.cpus} --quiet
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.labels.track.npz ${prefix}.sites.bed
    echo '{"genome": {"contigs": [{"name": "stub", "key": "stub"}]}}' > ${prefix}.qc.json
    """
}
