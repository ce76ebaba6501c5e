"""The samplesheet: one CSV row per genome, validated against ``assets/schema_input.json``.

Columns: ``id``, ``fasta``, and what to label from — ``bam`` (optionally ``control_bam``) and/or ``sites`` (BED) —
plus ``annotation`` (the genome's genes, GFF3 or GenBank: its sites are then classed by them) and ``topology`` (auto,
circular or linear). A row with nothing to label from is a genome to survey: it is
predicted and explained, but not labelled, trained on or evaluated. The JSON Schema is the one the Nextflow
pipeline validates with (nf-schema), so both read the same sheet the same way. Relative paths are resolved against
the samplesheet's folder. Every error names the file, the row (its line in the CSV) and the column.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from pygenome.errors import InputError
from pygenome.io.package_data import SCHEMA

PATH_COLUMNS = ("fasta", "bam", "control_bam", "sites", "annotation")


@dataclass(frozen=True)
class Sample:
    """One genome of the samplesheet (absolute paths; None where the column is empty)."""

    id: str
    fasta: str
    bam: str | None = None
    control_bam: str | None = None
    sites: str | None = None
    annotation: str | None = None
    topology: str = "auto"

    @property
    def labelled(self) -> bool:
        """Whether the row has something to label from (else it is a genome to survey with a model)."""
        return bool(self.bam or self.sites)


def read_samplesheet(path) -> list[Sample]:
    """The genomes of a samplesheet CSV, validated (see the module)."""
    import jsonschema

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = []
            for row in reader:
                if None in row:  # more fields than the header names: a value would be lost
                    raise InputError(f"{path}: row {reader.line_num} has {len(reader.fieldnames) + len(row[None])} "
                                     f"fields but the header names {len(reader.fieldnames)} "
                                     f"({','.join(reader.fieldnames)}); remove the extra value(s) "
                                     f"{', '.join(map(repr, row[None]))} or name their column")
                rows.append({key.strip(): (value or "").strip() for key, value in row.items()})
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path}: cannot read the samplesheet ({error})") from error
    if not rows:
        raise InputError(f"{path}: no genomes; give a header line (id,fasta,bam,control_bam,sites,annotation,"
                         "topology) and one row per genome")
    records = [{key: value for key, value in row.items() if value} for row in rows]
    schema = json.loads(SCHEMA.read_text())
    problems = []
    for error in sorted(jsonschema.Draft202012Validator(schema).iter_errors(records), key=lambda e: list(e.path)):
        problems.append(_describe(error, records))
    ids = [record.get("id") for record in records]
    for index, identifier in enumerate(ids):
        if identifier and ids.index(identifier) != index:
            problems.append(f"row {index + 2}, column 'id': {identifier!r} is already the id of row "
                            f"{ids.index(identifier) + 2}; give each genome its own id")
    for index, record in enumerate(records):
        for column in PATH_COLUMNS:
            if column in record and not (path.parent / record[column]).is_file():
                problems.append(f"row {index + 2}, column '{column}': {record[column]} not found (relative paths "
                                f"are read from {path.parent})")
    if problems:
        raise InputError(f"{path}: " + "; ".join(dict.fromkeys(problems)))
    return [Sample(**{key: str((path.parent / value).resolve()) if key in PATH_COLUMNS else value
                      for key, value in record.items()}) for record in records]


def _describe(error, records) -> str:
    """One schema error as "row N, column 'c': what is expected"."""
    location = list(error.path)
    if not location:
        return error.message
    row = f"row {location[0] + 2}"
    if len(location) > 1:
        column = location[1]
        expected = error.schema.get("errorMessage", error.message) if isinstance(error.schema, dict) else error.message
        return f"{row}, column '{column}': {expected} (got {records[location[0]].get(column)!r})"
    if error.validator == "additionalProperties":
        return f"{row}: {error.message}; the columns are id, fasta, bam, control_bam, sites, annotation, topology"
    if error.validator == "dependentRequired":
        return f"{row}: control_bam needs bam (the treated library)"
    return f"{row}: {error.message}"
