"""Fine-tuning MiniLM into a Detoxify-format checkpoint."""
