process REPORT {
    tag "${motifs_prefix}"
    label 'process_single'
    container "${params.container_cpu}"

    input:
    path(qcs)
    path(models, stageAs: 'train/*')
    path(evaluations, stageAs: 'evaluate/*')
    path(motifs, stageAs: 'motifs/*')
    val(motifs_prefix)

    output:
    path "report.html" , emit: report
    path "versions.yml", emit: versions

    script:
    def words = { files -> [files].flatten().join(' ') }  // one file or several, blank-separated
    def quoted = { text -> "'" + text.toString().replace("'", "'\\''") + "'" }  // one shell word, whatever it holds
    def description = params.description ? "--description ${quoted(params.description)}" : ''
    """
    pygenome report --out report.html --title ${quoted(params.title)} ${description} --label-qc ${words(qcs)} \\
        --model ${words(models)} --evaluation ${words(evaluations)} --motifs motifs --motifs-prefix ${motifs_prefix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: \$(pygenome --version | sed "s/^pygenome //")
    END_VERSIONS
    """

    stub:
    """
    touch report.html

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: stub
    END_VERSIONS
    """
}
