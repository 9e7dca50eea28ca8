"""How results are shown: number formats, the house theme and tables, maps and client files."""
