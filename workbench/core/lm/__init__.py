"""Language models: perplexity, generation and the LM-specific compression helpers."""
