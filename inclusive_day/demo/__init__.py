"""Demo data: the Kunming Inclusive Day campaign, and (later) a synthetic province."""
