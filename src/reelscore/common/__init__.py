"""Small shared helpers used by every stage: atomic writes, config, progress, stats."""
