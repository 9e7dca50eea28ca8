"""Phase pipeline: parameters, graph, execution, reports.

Modules (kept import-light: ``spec`` is imported by every phase module):

* :mod:`~salesanalytics.pipeline.spec` – ``PhaseSpec``, ``PhaseParams``, ``PerEntitySpec``;
* :mod:`~salesanalytics.pipeline.config` – ``project.yaml`` (``init_project``, ``load_project``),
  parameter validation for the file and ``--set``;
* :mod:`~salesanalytics.pipeline.graph` – order, ``--phase`` selection, downstream;
* :mod:`~salesanalytics.pipeline.fingerprint` – content fingerprints for reuse;
* :mod:`~salesanalytics.pipeline.execute` – pre-warmed kernel pool, notebook execution;
* :mod:`~salesanalytics.pipeline.report` – client / analyst HTML, ``index.html``;
* :mod:`~salesanalytics.pipeline.runner` – ``run_pipeline``: run folders, reuse, manifest;
* :mod:`~salesanalytics.pipeline.commands` – the ``init`` and ``run`` subcommands.
"""
