"""Reports: the quarterly board pack (:mod:`~joinedup.reports.boardpack`), rendered from
the published figures as HTML, PDF and Excel, with no web framework."""
