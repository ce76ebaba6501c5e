process SURVEY {
    tag "${meta.id}"
    label 'process_single'
    container 'pygenome/pygenome:0.1.0'

    input:
    // every genome: its id, its FASTA and how many of the sites files (predicted.bed) are its own (genome, then contig
    // order); motifs: the files of the motifs task over these genomes
    tuple val(meta), val(genome_ids), path(fastas, stageAs: 'genome?/*'), path(sites, stageAs: 'sites/*'), val(site_counts), path(motifs, stageAs: 'motifs/*')

    output:
    tuple val(meta), path("${prefix}.tsv")       , emit: table
    tuple val(meta), path("${prefix}.motifs.tsv"), emit: motifs
    tuple val(meta), path("${prefix}.json")      , emit: summary
    tuple val(meta), path("${prefix}.figures")   , emit: figures
    tuple val("${task.process}"), val('pygenome'), eval('pygenome --version | sed "s/^pygenome //"'), emit: versions_pygenome, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def files = [sites].flatten()
    def ends = site_counts.withIndex().collect { count, index -> site_counts.take(index + 1).sum() }
    def genomes = [genome_ids, [fastas].flatten(), site_counts, ends].transpose().collect { id, fasta, count, end ->
        (['--genome', id, fasta] + files.subList(end - count, end)).join(' ')
    }.join(' ')
    // the motifs step's prefix, from the name of its heads table
    def heads = [motifs].flatten().find { file -> file.name.endsWith('.heads.tsv') }
    def motifs_prefix = heads.name.replaceAll(/\.heads\.tsv$/, '')
    """
    pygenome survey ${genomes} --motifs motifs --motifs-prefix ${motifs_prefix} ${args} --outdir . --prefix ${prefix}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.tsv ${prefix}.motifs.tsv ${prefix}.json
    mkdir ${prefix}.figures
    """
}
