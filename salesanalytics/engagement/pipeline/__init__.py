"""Phase pipeline: parameters, graph, execution, reports.

The phase declarations it runs (``PhaseSpec``, ``PhaseParams``, ``PerEntitySpec``) live below it in
:mod:`salesanalytics.engagement.spec` and :mod:`salesanalytics.engagement.paramcheck`, so the
arrows run one way: ``pipeline`` -> ``phases`` -> ``spec``.

Modules:

* :mod:`~salesanalytics.engagement.pipeline.config` – ``project.yaml`` (``init_project``, ``load_project``),
  parameter validation for the file and ``--set``;
* :mod:`~salesanalytics.engagement.pipeline.graph` – order, ``--phase`` selection, downstream;
* :mod:`~salesanalytics.engagement.pipeline.fingerprint` – content fingerprints for reuse;
* :mod:`~salesanalytics.engagement.pipeline.execute` – pre-warmed kernel pool, notebook execution;
* :mod:`~salesanalytics.engagement.pipeline.report` – client / analyst HTML, ``index.html``;
* :mod:`~salesanalytics.engagement.pipeline.runner` – ``run_pipeline``: run folders, reuse, manifest;
* :mod:`~salesanalytics.engagement.pipeline.commands` – the ``init`` and ``run`` subcommands.
"""
