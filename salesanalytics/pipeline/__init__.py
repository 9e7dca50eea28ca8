"""Phase pipeline: parameters, graph, execution, reports."""
