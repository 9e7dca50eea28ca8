"""Running an engagement: phase specs and parameters, the pipeline, the run folder and report rendering."""
