"""harvest_worker: consumes `harvest` jobs, runs the enrichment pipeline, writes the catalog."""
