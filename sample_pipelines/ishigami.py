"""The Ishigami function, a standard test of global sensitivity analysis, as a script.

    y = sin(x1) + a·sin(x2)² + b·x3⁴·sin(x1),   a = 7, b = 0.1, each xi uniform on [-π, π]

Its variance-based indices are known exactly: first order S1 = (0.314, 0.442, 0.000), total
ST = (0.558, 0.442, 0.244); x3 acts only through its interaction with x1. The README's
Sobol' example, ``plot_gsa.py`` and ``benchmarks/gsa.py`` sweep it. It imports only ``math``:
each iteration costs little more than the sweep's own overhead.

Params
    x1, x2, x3   the inputs (0.0)
    a, b         the constants (7.0, 0.1)

Outputs
    y            the function's value (float)
"""

import math

from py3r_script import Output, Param

x1 = Param(0.0, name="x1")
x2 = Param(0.0, name="x2")
x3 = Param(0.0, name="x3")
a = Param(7.0, name="a")
b = Param(0.1, name="b")

Output(math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1), name="y")
