process TRAIN {
    tag "${meta.id}"
    label 'process_gpu'
    container "${task.accelerator ? params.container_gpu : params.container_cpu}"

    input:
    tuple val(meta), val(genome_ids), path(fastas, stageAs: 'genome?/*'), path(labels)

    output:
    tuple val(meta), path("${meta.id}"), emit: model
    path "versions.yml"                , emit: versions

    script:
    // one process per GPU of the task (torchrun; ext.launcher for several nodes), or one process on the CPU
    def launcher = task.ext.launcher ?: (task.accelerator ? "torchrun --standalone --nproc_per_node=${task.accelerator.request} -m pygenome" : 'pygenome')
    def genomes = [genome_ids, [fastas].flatten(), [labels].flatten()].transpose()
        .collect { id, fasta, label_track -> "--genome ${id} ${fasta} ${label_track}" }.join(' ')
    def settings = params.train_settings ? "--set ${params.train_settings}" : ''
    """
    ${launcher} train ${genomes} --preset ${params.preset} ${settings} --outdir ${meta.id} --threads ${task.cpus} --quiet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: \$(pygenome --version | sed "s/^pygenome //")
        torch: \$(python -c "import torch; print(torch.__version__)")
    END_VERSIONS
    """

    stub:
    """
    mkdir ${meta.id}
    touch ${meta.id}/model.safetensors ${meta.id}/config.json ${meta.id}/metrics.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pygenome: stub
    END_VERSIONS
    """
}
