process PREDICT {
    tag "${meta.id}:${meta.contig}"
    label 'process_gpu'
    container "${task.accelerator ? 'pygenome/pygenome-cuda:0.1.0' : 'pygenome/pygenome:0.1.0'}"

    input:
    // labels: the genome's label track, whose sites the attention is taken at; [] for a genome without labels
    // (attention at the predicted sites)
    tuple val(meta), path(model, stageAs: 'model/*'), path(fasta, stageAs: 'genome/*'), path(labels, stageAs: 'labels/*')

    output:
    tuple val(meta), path("${prefix}.scores.track.npz"), emit: scores
    tuple val(meta), path("${prefix}.predicted.bed")   , emit: sites
    tuple val(meta), path("${prefix}.attention.npz")   , emit: attention
    tuple val(meta), path("${prefix}.scores.*.bw")     , emit: bigwig
    tuple val(meta), path("${prefix}.scores.*.bedgraph"), emit: bedgraph, optional: true
    tuple val("${task.process}"), val('pygenome'), eval('pygenome --version | sed "s/^pygenome //"'), emit: versions_pygenome, topic: versions
    tuple val("${task.process}"), val('torch'), eval('python3 -c "import torch; print(torch.__version__)"'), emit: versions_torch, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}.${meta.contig_key}"
    // a task given a GPU runs on it or fails at once (pygenome: "--device cuda: ... CUDA sees no device"), never on the CPU
    def device = task.accelerator ? 'cuda' : 'cpu'
    def sites = labels ?: 'predicted'
    """
    pygenome predict --model ${model} --fasta ${fasta} --topology ${meta.topology} --contig='${meta.contig}' ${args} \\
        --attention-sites ${sites} --device ${device} --outdir . --prefix ${prefix} --threads ${task.cpus} --quiet
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}.${meta.contig_key}"
    """
    touch ${prefix}.scores.track.npz ${prefix}.predicted.bed ${prefix}.attention.npz
    touch ${prefix}.scores.plus.bw ${prefix}.scores.minus.bw
    """
}
