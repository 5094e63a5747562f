"""Feature extraction: extractors per modality, a registry, the feature store and the pipeline."""
