process MOTIFS {
    tag "${meta.id}"
    label 'process_medium'
    container 'pygenome/pygenome:0.1.0'

    input:
    // every genome: its id, its FASTA and how many of the attention files are its own (genome, then contig order)
    tuple val(meta), val(genome_ids), path(fastas, stageAs: 'genome?/*'), path(attention, stageAs: 'attention/*'), val(attention_counts)
    path(databases, stageAs: 'database?/*')
    path(decoy, stageAs: 'decoy/*')

    output:
    tuple val(meta), path("${prefix}.heads.tsv"), emit: heads
    tuple val(meta), path("${prefix}.*")        , emit: motifs
    tuple val("${task.process}"), val('pygenome'), eval('pygenome --version | sed "s/^pygenome //"'), emit: versions_pygenome, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def files = [attention].flatten()
    def ends = attention_counts.withIndex().collect { count, index -> attention_counts.take(index + 1).sum() }
    def genomes = [genome_ids, [fastas].flatten(), attention_counts, ends].transpose().collect { id, fasta, count, end ->
        (['--genome', id, fasta] + files.subList(end - count, end)).join(' ')
    }.join(' ')
    def known = databases ? "--database ${[databases].flatten().join(' ')}" : ''
    def false_matches = decoy ? "--decoy ${decoy}" : ''
    """
    pygenome motifs ${genomes} ${known} ${false_matches} ${args} --outdir . --prefix ${prefix} --quiet
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.heads.tsv ${prefix}.motifs.json
    """
}
