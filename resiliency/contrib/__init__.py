"""Optional integrations, each needing an extra; none is imported by ``import resiliency``."""
