"""Feature extraction: the one analysis (probe, one decode, extractors), extractors per modality, registry, store, pipeline."""
