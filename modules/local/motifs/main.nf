process MOTIFS {
    tag "${prefix}"
    label 'process_medium'
    container "${params.container_cpu}"

    input:
    val(genome_ids)
    path(fastas, stageAs: 'genome?/*')
    path(attention)
    val(attention_counts)
    path(databases, stageAs: 'databases/*')
    path(decoy, stageAs: 'decoy/*')
    val(prefix)

    output:
    path("${prefix}.heads.tsv")  , emit: heads
    path("${prefix}.*")          , emit: motifs
    path "versions.yml"          , emit: versions

    script:
    // each genome: its id, its FASTA and its attention files (attention_counts of them, in genome then contig order)
    def files = [attention].flatten()
    def first = 0
    def genomes = [genome_ids, [fastas].flatten(), attention_counts].transpose().collect { id, fasta, count ->
        def own = files.subList(first, first + count)
        first += count
        (["--genome", id, fasta] + own).join(' ')
    }.join(' ')
    def known = databases ? "--database ${[databases].flatten().join(' ')}" : ''
    def false_matches = decoy ? "--decoy ${decoy}" : ''
    """
    pygenome motifs ${genomes} ${known} ${false_matches} --outdir . --prefix ${prefix} --quiet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: \$(pygenome --version | sed "s/^pygenome //")
    END_VERSIONS
    """

    stub:
    """
    touch ${prefix}.heads.tsv ${prefix}.motifs.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: stub
    END_VERSIONS
    """
}
