"""Pictures of published figures, drawn on the server as SVG (and PNG), no network.

:mod:`~joinedup.charts.spc` draws Making Data Count SPC charts, :mod:`~joinedup.charts.funnel`
funnel plots and :mod:`~joinedup.charts.population` the population pyramids. The web
app, the board pack and the command line all draw with these; scenario fans, tornados
and waterfalls are drawn by the scenario results themselves (``joinedup.scenarios``).
"""
