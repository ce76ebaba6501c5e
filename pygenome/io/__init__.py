"""Formats: reading and writing every file pygenome reads or writes (genomes, alignments, sites, tracks,
attention, motifs, samplesheets, model folders), whole or not at all. Imports nothing above it."""
