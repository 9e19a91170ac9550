"""Analysis of sweep results: sensitivity tables, rank correlations, grid views and plots.

Reached through :class:`~py3r_script.results.ScriptResults` (``sensitivity_table``,
``pivot``, ``plot_tornado``...); pandas and matplotlib are imported here, never in a child.
``query`` answers what every analysis asks of the results (varied parameters, runs at the
nominal point, an output's numbers); ``tables``, ``correlation``, ``grids`` and
``plotting`` build on it.
"""
