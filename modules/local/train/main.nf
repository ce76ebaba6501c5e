process TRAIN {
    tag "${meta.id}"
    label 'process_gpu'
    container "${task.accelerator ? 'pygenome/pygenome-cuda:0.1.0' : 'pygenome/pygenome:0.1.0'}"
    // the checkpoint folder lies outside the work directory: mounted into the container at its own path
    containerOptions "${!checkpoints ? '' : workflow.containerEngine in ['singularity', 'apptainer'] ? "--bind ${checkpoints}" : "--volume ${checkpoints}:${checkpoints}"}"

    input:
    tuple val(meta), val(genome_ids), path(fastas, stageAs: 'genome?/*'), path(labels, stageAs: 'labels/*')
    val(checkpoints)  // a folder every attempt of this task sees (shared file system), or '': where a retry resumes

    output:
    tuple val(meta), path("${prefix}"), emit: model
    // (ext.exec: what runs the image, where the task itself runs on the host, as under slurm_multinode)
    tuple val("${task.process}"), val('pygenome'), eval("${task.ext.exec ?: ''} pygenome --version | sed 's/^pygenome //'"), emit: versions_pygenome, topic: versions
    tuple val("${task.process}"), val('torch'), eval("${task.ext.exec ?: ''} python3 -c 'import torch; print(torch.__version__)'"), emit: versions_torch, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    // a task given GPUs trains on them (one process per GPU, torchrun on a free port) or fails at once; ext.launcher
    // replaces the launcher (the slurm_multinode profile's srun over several nodes)
    def gpus = task.accelerator ? task.accelerator.request : 0
    def launcher = task.ext.launcher ?: (gpus ? "torchrun --standalone --nproc_per_node=${gpus} -m pygenome" : 'pygenome')
    def device = gpus ? 'cuda' : 'cpu'
    def genomes = [genome_ids, [fastas].flatten(), [labels].flatten()].transpose()
        .collect { id, fasta, label_track -> "--genome ${id} ${fasta} ${label_track}" }.join(' ')
    // checkpoints live outside the work directory, so that a retried task (a new work directory) resumes from them;
    // a first attempt starts afresh
    def kept = checkpoints ? "${checkpoints}/${prefix}" : ''
    def keep = kept ? """
    if [ ${task.attempt} -eq 1 ]; then rm -rf '${kept}'; fi
    mkdir -p '${kept}' ${prefix}
    ln -s '${kept}' ${prefix}/checkpoints
    if [ -e '${kept}/last.pt' ]; then resume=--resume; fi""" : ''
    """
    resume=''${keep}
    ${launcher} train ${genomes} ${args} --device ${device} --outdir ${prefix} --threads ${task.cpus} --quiet \$resume
    if [ -L ${prefix}/checkpoints ]; then rm ${prefix}/checkpoints; fi
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir ${prefix}
    touch ${prefix}/model.safetensors ${prefix}/config.json ${prefix}/metrics.json
    """
}
