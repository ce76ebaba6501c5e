process CLASSIFY {
    tag "${meta.id}:${meta.sites}"
    label 'process_single'
    container 'pygenome/pygenome:0.1.0'

    input:
    // sites: a genome's predicted sites (its predicted.bed of each contig, in contig order) or its label track;
    // known: the label track the predicted sites are set against, or [] (for the labels themselves, and for a genome
    // without labels)
    tuple val(meta), path(fasta, stageAs: 'genome/*'), path(annotation, stageAs: 'annotation/*'), path(sites, stageAs: 'sites/*'), path(known, stageAs: 'known/*')

    output:
    tuple val(meta), path("${prefix}.sites.tsv")   , emit: table
    tuple val(meta), path("${prefix}.sites.bed")   , emit: bed
    tuple val(meta), path("${prefix}.classes.json"), emit: summary
    tuple val("${task.process}"), val('pygenome'), eval('pygenome --version | sed "s/^pygenome //"'), emit: versions_pygenome, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}.${meta.sites}"
    def against = known ? "--known ${known}" : ''
    """
    pygenome classify --fasta ${fasta} --topology ${meta.topology} --annotation ${annotation} --sites ${[sites].flatten().join(' ')} ${against} \\
        ${args} --outdir . --prefix ${prefix}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}.${meta.sites}"
    """
    touch ${prefix}.sites.tsv ${prefix}.sites.bed ${prefix}.classes.json
    """
}
