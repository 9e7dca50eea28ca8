"""Reference data that is not an analysis: geography and travel assumptions."""
