#!/usr/bin/env nextflow
/*
 * pygenome: learn where things happen in prokaryotic genomes, and explain why.
 *
 * main.nf → workflows/pygenome.nf (the steps) with subworkflows/local/utils_pygenome_pipeline (validation, the
 * samplesheet, versions, the summary). Every process is one `pygenome <step>` call; the same command lines and the
 * same output layout as `pygenome run`. Docs: README.md, docs/nextflow.md.
 */

include { PYGENOME                } from './workflows/pygenome'
include { PIPELINE_INITIALISATION } from './subworkflows/local/utils_pygenome_pipeline'
include { PIPELINE_COMPLETION     } from './subworkflows/local/utils_pygenome_pipeline'
include { motifDatabases          } from './subworkflows/local/utils_pygenome_pipeline'
include { modelFolder             } from './subworkflows/local/utils_pygenome_pipeline'
include { checkpointFolder        } from './subworkflows/local/utils_pygenome_pipeline'
include { completionSummary       } from './subworkflows/local/utils_pygenome_pipeline'

workflow {
    PIPELINE_INITIALISATION(params.input)
    PYGENOME(
        PIPELINE_INITIALISATION.out.samples,
        modelFolder(params.model, projectDir),  // a folder, or a bundled model's name (pygenome/data/models/<name>)
        params.model_scope,
        params.baseline.toString().toBoolean(),  // command-line values are text under the strict parser
        motifDatabases(params.databases),
        params.decoy ? file(params.decoy, checkIfExists: true) : [],
        checkpointFolder(workflow.workDir, workflow.sessionId))
    PIPELINE_COMPLETION(params.outdir)

    workflow.onComplete = {
        log.info(completionSummary(workflow, params.outdir))
    }
}
