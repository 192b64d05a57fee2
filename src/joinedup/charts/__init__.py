"""Pictures of published figures, drawn on the server as SVG (and PNG), no network.

:mod:`~joinedup.charts.spc` draws Making Data Count SPC charts, :mod:`~joinedup.charts.funnel`
funnel plots, :mod:`~joinedup.charts.population` the population pyramids and
:mod:`~joinedup.charts.evaluation` a programme evaluation's event study, synthetic
control and falsification forest plot. The web
app, the board pack and the command line all draw with these; scenario fans, tornados
and waterfalls are drawn by the scenario results themselves (``joinedup.scenarios``).
"""
